// «Kopier lenken»: shown only where the browser can copy; without JavaScript the link is
// selectable text in a read-only field.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  if (!navigator.clipboard) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    var field = document.getElementById(button.getAttribute("data-copy"));
    navigator.clipboard.writeText(field.value).then(function () {
      button.textContent = "Kopiert";
    });
  });
});
