// ledgerbridge console: a little script where it earns its keep. Every page works without it.
// - forms marked data-async post in place and then poll the result of what they started (a retry, a run);
// - <details data-src> load their content when first opened (details open in place);
// - the activity page says when newer records arrived, and never redraws by itself.
"use strict";

function say(form, text) {
  const out = form.querySelector("output.result");
  if (out) out.textContent = text;
}

async function watch(form, url) {
  // Up to 4 minutes: a run waiting out Exact's per-minute limit is retried after ~30 s, more than once.
  for (let i = 0; i < 160; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    let answer;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) { say(form, "Could not read the result (" + response.status + "); reload the page."); return; }
      answer = await response.json();
    } catch (err) {
      say(form, "The console did not answer; reload the page."); return;
    }
    say(form, answer.message);
    if (answer.done) {
      const button = form.querySelector("button");
      if (answer.outcome && answer.outcome !== "failed" && button) button.hidden = true;
      else if (button) button.disabled = false;
      return;
    }
  }
  say(form, "Not done yet (the worker may be waiting for an API limit); reload the page later to see the result.");
  const button = form.querySelector("button");
  if (button) button.disabled = false;
}

async function postInPlace(event) {
  const form = event.currentTarget;
  event.preventDefault();
  const button = form.querySelector("button");
  if (button) button.disabled = true;
  say(form, "Sending…");
  let response;
  try {
    response = await fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
  } catch (err) {
    say(form, "The console did not answer. Try again.");
    if (button) button.disabled = false;
    return;
  }
  if (response.status === 401 || response.redirected) { say(form, "Your session expired: reload the page to sign in."); return; }
  if (!response.ok) {
    say(form, response.status === 403 ? "Refused: reload the page and try again." : "Failed (" + response.status + ").");
    if (button) button.disabled = false;
    return;
  }
  const answer = await response.json();
  say(form, answer.message);
  if (answer.watch) watch(form, answer.watch);
  else if (button) button.disabled = false;
}

async function loadDetails(event) {
  const details = event.currentTarget;
  if (!details.open || details.dataset.loaded) return;
  details.dataset.loaded = "1";
  const body = details.querySelector(".detail-body");
  try {
    const response = await fetch(details.dataset.src, { credentials: "same-origin" });
    if (response.ok) body.innerHTML = await response.text();
  } catch (err) {
    /* the link to the details page stays */
  }
}

function watchNewer(notice) {
  let known = 0;
  const link = notice.querySelector("a");
  async function check() {
    if (document.hidden) return;
    try {
      const response = await fetch(notice.dataset.newer, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const answer = await response.json();
      if (answer.newer > 0 && answer.newer !== known) {
        known = answer.newer;
        link.textContent = answer.newer === 1 ? "1 new record: show it" : answer.newer + " new records: show them";
        notice.hidden = false;
      }
    } catch (err) { /* try again on the next tick */ }
  }
  setInterval(check, 5000);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-async]").forEach((form) => form.addEventListener("submit", postInPlace));
  document.querySelectorAll("details[data-src]").forEach((d) => d.addEventListener("toggle", loadDetails));
  document.querySelectorAll("[data-newer]").forEach(watchNewer);
});
