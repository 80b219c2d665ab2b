// Connection form: show the fields of the chosen kind only (SQL databases or a REST API;
// SQLite needs no server, user or password). Without this script every field shows.
"use strict";
(function () {
  function rows(names) {
    return names.map(function (name) { return document.querySelector(".form-row.field-" + name); })
      .filter(Boolean);
  }
  function show(element, shown) { element.style.display = shown ? "" : "none"; }
  function update(kind) {
    var rest = kind === "rest";
    document.querySelectorAll("fieldset.kind-sql").forEach(function (set) { show(set, !rest); });
    document.querySelectorAll("fieldset.kind-rest").forEach(function (set) { show(set, rest); });
    rows(["host", "port", "username", "password"]).forEach(function (row) {
      show(row, kind !== "sqlite");
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var kind = document.getElementById("id_kind");
    if (!kind) { return; }
    update(kind.value);
    kind.addEventListener("change", function () { update(kind.value); });
  });
})();
