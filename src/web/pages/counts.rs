//! Participant counts per group, as typed into a form: the booking's expected numbers
//! (`forventet-{group}`) and the attendance registered afterwards (`faktisk-{group}`).

use std::collections::BTreeMap;

use maud::{html, Markup};

use super::FieldErrors;
use crate::domain::plan::Term;

/// The whole numbers typed per group; blank fields are left out, and anything else that is
/// not a whole number is an error on `field` («Skriv antall deltakere som {what}, …»).
pub(super) fn parse_counts(
    typed: &BTreeMap<String, String>,
    field: &'static str,
    what: &str,
    errors: &mut FieldErrors,
) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for (group, n) in typed {
        let n = n.trim();
        if n.is_empty() {
            continue;
        }
        match n.parse::<i64>() {
            Ok(n) => {
                counts.insert(group.clone(), n);
            }
            Err(_) => errors.add(field, format!("Skriv antall deltakere som {what}, ikke «{n}».")),
        }
    }
    counts
}

/// One number field per group, named `{field}-{group}`, with `field`'s errors above them.
pub(super) fn counts_fieldset(
    field: &str,
    legend: &str,
    groups: &[Term],
    typed: &BTreeMap<String, String>,
    errors: &FieldErrors,
) -> Markup {
    let field_errors = errors.for_field(field);
    let error_id = format!("{field}-feil");
    html! {
        fieldset.choices aria-describedby=[(!field_errors.is_empty()).then_some(&error_id)] {
            legend { (legend) }
            @for e in &field_errors { p.field-error id=(error_id) { (e) } }
            @for g in groups {
                @let id = format!("{field}-{}", g.key);
                div.field.count {
                    label for=(id) { (g.name) }
                    input type="number" id=(id) name=(id) min="0" inputmode="numeric" value=(typed.get(&g.key).map(String::as_str).unwrap_or(""));
                }
            }
        }
    }
}
