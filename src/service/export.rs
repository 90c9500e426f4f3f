//! Every CSV file the service writes goes through [`csv`]: semicolon-separated, UTF-8 with a
//! byte-order mark (so spreadsheets in Norwegian settings open it as it is), and every cell
//! made safe to open in a spreadsheet.

use std::borrow::Cow;

/// A cell as a spreadsheet may read it: one that begins with `=`, `+`, `-`, `@`, a tab or a
/// carriage return would be read as a formula (`=HYPERLINK(…)` runs when the file is opened),
/// so it gets a single quote in front, which spreadsheets show as text (OWASP's advice on CSV
/// injection). Titles, names and free text come from users; the figures never begin so.
pub fn spreadsheet_cell(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// `header` and `rows` as CSV, each cell through [`spreadsheet_cell`].
pub fn csv(header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = ::csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(vec![0xEF, 0xBB, 0xBF]);
    for record in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        w.write_record(record.iter().map(|c| spreadsheet_cell(c).into_owned()))
            .expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_other_cells_kept() {
        for (cell, want) in [
            (
                "=HYPERLINK(\"http://evil.example/x\",\"klikk\")",
                "'=HYPERLINK(\"http://evil.example/x\",\"klikk\")",
            ),
            ("+47 55 00 00 00", "'+47 55 00 00 00"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("Forskermøte", "Forskermøte"),
            ("12,5", "12,5"),
            ("", ""),
            ("a=b", "a=b"),
        ] {
            assert_eq!(spreadsheet_cell(cell), want, "{cell:?}");
        }
        let out = csv(&["Tittel".into()], &[vec!["=1+1".into()]]);
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("\u{feff}Tittel"), "{out:?}");
        assert!(out.lines().nth(1) == Some("'=1+1"), "{out:?}");
    }
}
