// gatehouse console: the approve form shows the virtual-account list once
// the scope "Selected virtual accounts" and a role are chosen, and offers
// only the roles of the chosen scope. Without this script every field
// shows and the API says what does not fit.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-scope-form]").forEach(function (form) {
    var list = form.querySelector("[data-va-list]");
    var role = form.querySelector("select[name=role]");
    if (!list || !role) {
      return;
    }
    function update() {
      var scope = form.querySelector("input[name=scope]:checked");
      var value = scope ? scope.value : "account";
      role.querySelectorAll("optgroup").forEach(function (group) {
        var other = group.getAttribute("data-scope") !== value;
        group.hidden = other;
        group.disabled = other;
      });
      var selected = role.options[role.selectedIndex];
      if (selected && selected.parentElement.tagName === "OPTGROUP" && selected.parentElement.disabled) {
        role.value = "";
      }
      list.hidden = !(value === "virtual_accounts" && role.value !== "");
    }
    form.addEventListener("change", update);
    update();
  });
});
