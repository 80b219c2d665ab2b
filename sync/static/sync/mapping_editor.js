// Mapping editor of the sync configuration form: one row per mapping, the QMS field and the
// remote column picked from lists, written back into the field_mappings JSON box (which is
// what the form posts). When the JSON is not a plain list of mappings, or the remote columns
// cannot be read, the JSON box stays as it is, with the reason.
"use strict";
(function () {
  var SIMPLE_KEYS = ["local", "remote", "transform"];

  function element(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function choice(values, current, unknownLabel) {
    var select = element("select");
    select.appendChild(element("option", {value: "", text: "---------"}));
    var known = values.slice();
    if (current && known.indexOf(current) === -1) {
      select.appendChild(element("option", {value: current, text: current + " " + unknownLabel}));
    }
    known.forEach(function (value) { select.appendChild(element("option", {value: value, text: value})); });
    select.value = current || "";
    return select;
  }

  function Editor(box) {
    this.box = box;
    this.config = JSON.parse(document.getElementById(box.dataset.editor).textContent);
    this.textarea = document.getElementById(box.dataset.textarea);
    this.columns = this.config.columns;
    this.entity = document.getElementById("id_entity_type");
    this.note = element("p", {"class": "help mapping-editor-note"});
    this.table = element("table", {"class": "mapping-editor-table"});
    this.toggle = element("a", {href: "#", "class": "mapping-editor-toggle"});
    box.appendChild(this.note);
    box.appendChild(this.table);
    box.appendChild(this.toggle);
    var self = this;
    this.toggle.addEventListener("click", function (event) {
      event.preventDefault();
      if (self.table.style.display === "none") { self.useTable(); } else { self.useJson(""); }
    });
    if (this.entity) {
      this.entity.addEventListener("change", function () { self.rebuild(); });
    }
    ["id_connection", "id_remote_object"].forEach(function (id) {
      var input = document.getElementById(id);
      if (input) { input.addEventListener("change", function () { self.fetchColumns(); }); }
    });
    this.textarea.form.addEventListener("submit", function () { self.write(); });
    if (this.config.error) { this.useJson(""); } else { this.useTable(); }
  }

  Editor.prototype.mappings = function () {
    var text = this.textarea.value.trim();
    var value;
    try { value = text ? JSON.parse(text) : []; } catch (error) { return null; }
    if (!Array.isArray(value)) { return null; }
    var plain = value.every(function (item) {
      return item && typeof item === "object" && !Array.isArray(item) &&
        Object.keys(item).every(function (key) { return SIMPLE_KEYS.indexOf(key) !== -1; });
    });
    return plain ? value : null;
  };

  Editor.prototype.useJson = function (reason) {
    this.textarea.style.display = "";
    this.table.style.display = "none";
    this.note.textContent = reason;
    this.toggle.textContent = "Edit in the table";
    this.toggle.style.display = this.config.error ? "none" : "";
  };

  Editor.prototype.useTable = function () {
    if (this.mappings() === null) {
      this.useJson("These mappings are not a list of {local, remote, transform} objects: edit them as JSON.");
      return;
    }
    this.textarea.style.display = "none";
    this.table.style.display = "";
    this.toggle.textContent = "Edit as JSON";
    this.toggle.style.display = "";
    this.rebuild();
  };

  Editor.prototype.localFields = function () {
    var fields = this.config.local_fields[this.entity ? this.entity.value : ""];
    return fields === undefined ? null : fields;
  };

  Editor.prototype.rebuild = function () {
    if (this.table.style.display === "none") { return; }
    var mappings = this.mappings() || [];
    var self = this;
    this.table.textContent = "";
    this.table.appendChild(element("thead", {}, [element("tr", {}, [
      element("th", {text: "QMS field"}), element("th", {text: "Remote column"}),
      element("th", {text: "Transform"}), element("th", {})])]));
    var body = element("tbody");
    this.table.appendChild(body);
    mappings.forEach(function (mapping) { body.appendChild(self.row(mapping)); });
    var add = element("button", {type: "button", "class": "button mapping-add", text: "Add a mapping"});
    add.addEventListener("click", function () { body.appendChild(self.row({})); self.write(); });
    this.table.appendChild(element("tfoot", {}, [element("tr", {}, [element("td", {colspan: "4"}, [add])])]));
    this.note.textContent = this.config.note || "";
  };

  Editor.prototype.row = function (mapping) {
    var self = this;
    var fields = this.localFields();
    var local = fields ? choice(fields, mapping.local, "(not a field of this entity)")
      : element("input", {type: "text", value: mapping.local || "", placeholder: "field name"});
    var remote = this.columns ? choice(this.columns, mapping.remote, "(not in the table)")
      : element("input", {type: "text", value: mapping.remote || "", placeholder: "column or JSON field"});
    var transform = element("select");
    transform.appendChild(element("option", {value: "", text: "none"}));
    this.config.transforms.forEach(function (name) {
      transform.appendChild(element("option", {value: name, text: name}));
    });
    transform.appendChild(element("option", {value: "custom", text: "other (JSON)"}));
    var custom = element("input", {type: "text", size: "40", "class": "mapping-custom",
                                   placeholder: "{\"type\": \"map\", \"values\": {\"A\": \"active\"}}"});
    var given = mapping.transform;
    if (given === undefined || given === null || given === "") {
      transform.value = "";
    } else if (typeof given === "string" && this.config.transforms.indexOf(given) !== -1) {
      transform.value = given;
    } else {
      transform.value = "custom";
      custom.value = JSON.stringify(given);
    }
    custom.style.display = transform.value === "custom" ? "" : "none";
    var remove = element("button", {type: "button", "class": "button mapping-remove", text: "Remove"});
    var tr = element("tr", {"class": "mapping-row"}, [
      element("td", {}, [local]), element("td", {}, [remote]),
      element("td", {}, [transform, custom]), element("td", {}, [remove])]);
    local.classList.add("mapping-local");
    remote.classList.add("mapping-remote");
    transform.classList.add("mapping-transform");
    [local, remote, transform, custom].forEach(function (input) {
      input.addEventListener("change", function () {
        custom.style.display = transform.value === "custom" ? "" : "none";
        self.write();
      });
    });
    remove.addEventListener("click", function () { tr.remove(); self.write(); });
    return tr;
  };

  Editor.prototype.write = function () {
    if (this.table.style.display === "none") { return; }
    var rows = this.table.querySelectorAll("tr.mapping-row");
    var mappings = [];
    rows.forEach(function (tr) {
      var mapping = {local: tr.querySelector(".mapping-local").value.trim(),
                     remote: tr.querySelector(".mapping-remote").value.trim()};
      var kind = tr.querySelector(".mapping-transform").value;
      if (kind === "custom") {
        var text = tr.querySelector(".mapping-custom").value.trim();
        try { mapping.transform = JSON.parse(text); } catch (error) { mapping.transform = text; }
      } else if (kind) {
        mapping.transform = kind;
      }
      if (mapping.local || mapping.remote) { mappings.push(mapping); }
    });
    this.textarea.value = JSON.stringify(mappings, null, 2);
  };

  Editor.prototype.fetchColumns = function () {
    var connection = document.getElementById("id_connection");
    var object = document.getElementById("id_remote_object");
    if (!this.config.columns_url || !connection || !object) { return; }
    if (!connection.value || !object.value.trim()) { return; }
    var self = this;
    this.write();
    var url = this.config.columns_url + "?connection=" + encodeURIComponent(connection.value) +
      "&object=" + encodeURIComponent(object.value.trim());
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (answer) { return answer.json(); })
      .then(function (found) {
        self.config.error = found.error;
        self.config.note = found.note;
        self.columns = found.columns;
        if (found.error) { self.useJson(found.error); } else { self.useTable(); }
      })
      .catch(function () { self.useJson("The columns could not be read: edit the mappings as JSON."); });
  };

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".mapping-editor").forEach(function (box) { new Editor(box); });
  });
})();
