// ledgerbridge console, mapping editor: the dry run follows the edit. Without script the buttons post the form.
// - typing in the changes (after a pause), or picking another record, re-runs Validate + Dry run in place;
// - Validate and Dry run answer in place; Save posts the form (the page comes back saying what happened).
"use strict";

(function () {
  const form = document.getElementById("mapping-form");
  const result = document.getElementById("mapping-result");
  if (!form || !result) return;
  let timer = null;
  let latest = 0;

  async function run(action) {
    const body = new URLSearchParams(new FormData(form));
    body.set("action", action);
    const ticket = ++latest;
    result.classList.add("busy");
    try {
      // form.action would be the buttons named "action": read the attribute.
      const response = await fetch(form.getAttribute("action"), {
        method: "POST",
        body: body,
        headers: { "X-Fragment": "result", "X-CSRF-Token": body.get("csrf") || "" },
        credentials: "same-origin",
      });
      if (ticket !== latest) return; // a newer edit is on its way
      if (response.status === 401 || response.redirected) {
        result.textContent = "Your session expired: reload the page to sign in.";
      } else if (response.ok || response.status === 422) {
        result.innerHTML = await response.text();
      } else {
        result.textContent = "The dry run failed (" + response.status + "); try again.";
      }
    } catch (err) {
      if (ticket === latest) result.textContent = "The console did not answer; try again.";
    } finally {
      if (ticket === latest) result.classList.remove("busy");
    }
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(() => run("dryrun"), 700);
  }

  form.querySelector("#overrides").addEventListener("input", soon);
  form.querySelectorAll("select, input[type=checkbox]").forEach((el) => el.addEventListener("change", () => run("dryrun")));
  form.addEventListener("submit", (event) => {
    const action = event.submitter && event.submitter.value;
    if (action === "validate" || action === "dryrun") {
      event.preventDefault();
      run(action);
    }
  });
})();
