/* Bulk actions on the DIDs list, as the Django admin's actions.js does it: the header
   checkbox ticks every row of the page (shift-click ticks a range), a counter says how
   many are ticked, and once the whole page is ticked "Select all N DIDs that match the
   filters" extends the selection to every page (the form's select_across checkbox).
   Without this file the form works as it is: the ticked rows, or that checkbox. */
(function () {
  "use strict";
  const form = document.getElementById("changelist-form");
  const bar = document.getElementById("bulk-actions");
  if (!form || !bar) {
    return;
  }
  const boxes = Array.from(form.querySelectorAll("input.action-select"));
  const toggle = document.getElementById("action-toggle");
  const counter = document.getElementById("bulk-counter");
  const across = document.getElementById("select-across");
  const total = Number(bar.dataset.total);
  // Above a threshold the list's count is an estimate ("about 1,000,000").
  const everyMatch = bar.dataset.approximate ? `all (about ${total.toLocaleString("en")})` : `${total} of ${total}`;
  const part = (id) => document.getElementById(id);
  const show = (element, visible) => {
    if (element) {
      element.hidden = !visible;
    }
  };
  let last = null;

  function update() {
    const ticked = boxes.filter((box) => box.checked).length;
    const whole = boxes.length > 0 && ticked === boxes.length;
    boxes.forEach((box) => box.closest("tr").classList.toggle("selected", box.checked));
    if (toggle) {
      toggle.checked = whole;
      toggle.indeterminate = ticked > 0 && !whole;
    }
    if (across && !whole) {
      across.checked = false;
    }
    const everything = Boolean(across && across.checked);
    counter.textContent = everything
      ? `${everyMatch} selected`
      : `${ticked} of ${boxes.length} selected`;
    show(counter, true);
    show(part("select-across-question"), whole && !everything);
    show(part("select-across-all"), everything);
    show(part("select-across-clear"), everything);
  }

  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener("change", () => {
      boxes.forEach((box) => {
        box.checked = toggle.checked;
      });
      update();
    });
  }
  boxes.forEach((box) => {
    box.addEventListener("click", (event) => {
      if (event.shiftKey && last !== null && last !== box) {
        const [from, to] = [boxes.indexOf(last), boxes.indexOf(box)].sort((a, b) => a - b);
        boxes.slice(from, to + 1).forEach((other) => {
          other.checked = box.checked;
        });
      }
      last = box;
      update();
    });
  });
  if (across) {
    show(part("select-across-choice"), false);
    part("select-across-link").addEventListener("click", (event) => {
      event.preventDefault();
      across.checked = true;
      update();
    });
    part("select-across-clear-link").addEventListener("click", (event) => {
      event.preventDefault();
      across.checked = false;
      boxes.forEach((box) => {
        box.checked = false;
      });
      update();
    });
  }
  update();
})();
