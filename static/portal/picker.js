/* Name pickers: every <input data-picker="KIND"> that holds an id becomes a search box.
 *
 * The input itself keeps the id (it becomes a hidden input), so the form still submits
 * the id and a URL keeps e.g. search_user=5; a new text box beside it searches by name
 * against /dids/pick/KIND/ (the contract is in dids/views/pickers.py).
 *
 *   data-picker="users|resellers|devices|dial-plans|providers"   required
 *   data-picker-<name>="value"  sent as <name>=value (dashes become underscores), e.g.
 *                               data-picker-for-did="123" sends for_did=123
 *   data-picker-url="/path/"    another endpoint (default /dids/pick/KIND/)
 *   data-none-label="text"      offers 0 ("none") under that text
 *
 * Typing a whole number and leaving the box keeps that number as the id; an empty box
 * clears the id. No dependencies; loaded with `defer` on every page; fields added to
 * the page later are set up by calling window.portalPickers.init().
 */
(function () {
  "use strict";

  var DELAY_MS = 200;
  var counter = 0;

  function extraParams(input) {
    var params = new URLSearchParams();
    Object.keys(input.dataset).forEach(function (key) {
      if (key.indexOf("picker") !== 0 || key === "picker" || key === "pickerUrl") {
        return;
      }
      var name = key.slice("picker".length);
      name = name.charAt(0).toLowerCase() + name.slice(1);
      name = name.replace(/[A-Z]/g, function (c) { return "_" + c.toLowerCase(); });
      params.set(name, input.dataset[key]);
    });
    return params;
  }

  function setup(input) {
    var kind = input.dataset.picker;
    var url = input.dataset.pickerUrl || "/dids/pick/" + encodeURIComponent(kind) + "/";
    var noneLabel = input.dataset.noneLabel || "";
    var n = ++counter;
    var box = document.createElement("input");
    var list = document.createElement("ul");
    var wrapper = document.createElement("div");
    var timer = null;
    var request = 0;
    var options = [];
    var active = -1;
    var chosenLabel = "";

    box.type = "text";
    box.autocomplete = "off";
    box.className = "picker-search";
    box.id = (input.id || "picker" + n) + "_search";
    box.placeholder = "Type a name…";
    box.setAttribute("role", "combobox");
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-expanded", "false");
    list.id = box.id + "_list";
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    box.setAttribute("aria-controls", list.id);
    wrapper.className = "picker";
    if (input.id) {
      document.querySelectorAll('label[for="' + input.id + '"]').forEach(function (label) {
        label.htmlFor = box.id;
      });
    }
    input.parentNode.insertBefore(wrapper, input);
    wrapper.appendChild(input);
    wrapper.appendChild(box);
    wrapper.appendChild(list);
    input.type = "hidden";

    function close() {
      list.hidden = true;
      box.setAttribute("aria-expanded", "false");
      box.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0 && list.children[index]) {
        box.setAttribute("aria-activedescendant", list.children[index].id);
        list.children[index].scrollIntoView({ block: "nearest" });
      }
    }

    function choose(option) {
      input.value = String(option.id);
      chosenLabel = option.label;
      box.value = option.label;
      close();
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function show(results, more, query) {
      options = results.slice();
      if (noneLabel && (!query || noneLabel.toLowerCase().indexOf(query.toLowerCase()) !== -1)) {
        options.unshift({ id: 0, label: noneLabel });
      }
      list.textContent = "";
      options.forEach(function (option, i) {
        var li = document.createElement("li");
        li.id = list.id + "_" + i;
        li.setAttribute("role", "option");
        li.textContent = option.label;
        li.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the box until chosen
          choose(option);
        });
        list.appendChild(li);
      });
      if (!options.length) {
        var empty = document.createElement("li");
        empty.className = "picker-empty";
        empty.textContent = "No match";
        list.appendChild(empty);
      } else if (more) {
        var hint = document.createElement("li");
        hint.className = "picker-more";
        hint.textContent = "More match: type more of the name";
        list.appendChild(hint);
      }
      list.hidden = false;
      box.setAttribute("aria-expanded", "true");
      highlight(options.length ? 0 : -1);
    }

    function fetchResults(params) {
      var mine = ++request;
      return fetch(url + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      }).then(function (data) {
        if (mine !== request) { return null; } // an older answer arriving late
        return data;
      });
    }

    function search() {
      var query = box.value.trim();
      var params = extraParams(input);
      params.set("q", query);
      fetchResults(params).then(function (data) {
        if (data && document.activeElement === box) { show(data.results, data.more, query); }
      }).catch(function () { close(); });
    }

    // Leaving the box without choosing: empty clears the id, a whole number is an id,
    // anything else goes back to the current choice.
    function commit() {
      var text = box.value.trim();
      if (text === chosenLabel) { return; }
      if (text === "") {
        input.value = "";
        chosenLabel = "";
      } else if (/^[0-9]+$/.test(text) || text.toLowerCase() === "all") {
        input.value = text;
        chosenLabel = text;
        describe();
      } else {
        box.value = chosenLabel;
      }
    }

    // Show the name of the id the input holds (a pasted URL, a form shown again).
    function describe() {
      var value = input.value.trim();
      if (value === "") { box.value = chosenLabel = ""; return; }
      if (value === "0" && noneLabel) { box.value = chosenLabel = noneLabel; return; }
      if (!/^[0-9]+$/.test(value)) { box.value = chosenLabel = value; return; }
      box.value = chosenLabel = value;
      var params = extraParams(input);
      params.set("id", value);
      fetchResults(params).then(function (data) {
        if (!data || input.value.trim() !== value) { return; }
        chosenLabel = data.results.length ? data.results[0].label : value + " (not found)";
        if (document.activeElement !== box) { box.value = chosenLabel; }
      }).catch(function () { /* keep the id as it is */ });
    }

    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, DELAY_MS);
    });
    box.addEventListener("focus", function () { box.select(); });
    box.addEventListener("blur", function () {
      clearTimeout(timer);
      close();
      commit();
    });
    box.addEventListener("keydown", function (event) {
      var open = !list.hidden && options.length;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open) { search(); } else { highlight(Math.min(active + 1, options.length - 1)); }
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault(); // choosing does not submit the form yet
          choose(options[active]);
        } else {
          clearTimeout(timer);
          commit();
        }
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        close();
        box.value = chosenLabel;
      }
    });
    if (input.form) {
      input.form.addEventListener("submit", function () { clearTimeout(timer); commit(); });
    }
    describe();
  }

  function init() {
    document.querySelectorAll("input[data-picker]").forEach(function (input) {
      if (!input.classList.contains("picker-ready")) {
        input.classList.add("picker-ready");
        setup(input);
      }
    });
  }

  // Fields added to the page later (e.g. a form shown on demand): portalPickers.init().
  window.portalPickers = { init: init };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
