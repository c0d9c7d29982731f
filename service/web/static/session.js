// Signing in: the API key is traded once for an HttpOnly session cookie and then forgotten.
// The key is never stored (no localStorage, no cookie script can read) and never logged.

import { apiUrl, requestJson } from "./api.js";

const form = document.getElementById("sign-in-form");
const keyInput = document.getElementById("api-key");
const keyError = document.getElementById("api-key-error");
const note = document.getElementById("sign-in-note");
const submitButton = document.getElementById("sign-in-submit");

/** Which sections the page shows: "in" (signed in), "out" (the sign-in form), or neither yet. */
export function showSession(state) {
  document.body.dataset.session = state;
}

/** The key in a sign-in link (`#key=…`), removed from the address bar and history at once. */
export function takeKeyFromAddress() {
  const match = location.hash.match(/^#key=([^&]*)/);
  if (!match) return null;
  // Before any request: the key must not stay in the address even if the sign-in fails.
  history.replaceState(history.state, "", location.pathname + location.search);
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

/** Trades the key for the session cookie; this request is the only one that carries the key. */
export async function openSession(key) {
  await requestJson(apiUrl("/session"), {
    method: "POST",
    headers: { Authorization: `Bearer ${key}` },
    signInOnRefusal: false, // the caller says why the key was refused
  });
}

/**
 * Who this browser's session belongs to ({id, name}), or null when it has none. With `key`:
 * whose key that is (the page asks before a sign-in link switches to another user).
 */
export async function whoIsSignedIn(key = null) {
  const headers = key ? { Authorization: `Bearer ${key}` } : {};
  try {
    const { user } = await requestJson(apiUrl("/session"), { headers, signInOnRefusal: false });
    return user;
  } catch (error) {
    if (error.status === 401 && !key) return null;
    throw error;
  }
}

/** Shows whose narrations and feed the page is showing. */
export function showSignedInAs(user) {
  document.getElementById("signed-in-as").textContent = user ? `Signed in as ${user.name}` : "";
}

/** Signs this browser out: the service ends the session and clears the cookie. */
export async function closeSession() {
  await requestJson(apiUrl("/session"), { method: "DELETE", signInOnRefusal: false });
}

/** The key in what was pasted: the key itself, a whole sign-in link, or "Bearer KEY". */
function keyFromPasted(text) {
  const pasted = text.trim();
  const fromLink = pasted.match(/#key=([^&\s]+)/);
  return (fromLink ? fromLink[1] : pasted).replace(/^Bearer\s+/i, "");
}

/**
 * Shows the sign-in form and puts the cursor in it: `notice` says why it is shown ("You are
 * signed out."), `error` why a key was refused.
 */
export function askForKey({ notice = "", error = "" } = {}) {
  showSession("out");
  note.textContent = notice;
  showKeyError(error);
  keyInput.focus();
}

/** Shows (or clears) the message under the key field. */
function showKeyError(message) {
  keyError.textContent = message;
  if (message) keyInput.setAttribute("aria-invalid", "true");
  else keyInput.removeAttribute("aria-invalid");
}

/** Wires the sign-in form; `onSignedIn` runs after the service accepted a pasted key. */
export function setUpSignIn(onSignedIn) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = keyFromPasted(keyInput.value);
    if (!key) {
      askForKey({ error: "Paste an API key first." });
      return;
    }
    if (!/^[\x21-\x7e]+$/.test(key)) {
      askForKey({ error: "That is not an API key: a key is one word of letters, digits, - and _, starting with nk_." });
      return;
    }
    submitButton.disabled = true;
    try {
      await openSession(key);
      keyInput.value = ""; // the cookie holds it now; nothing on the page should
      showKeyError("");
      note.textContent = "";
      onSignedIn();
    } catch (error) {
      askForKey({ error: error.message });
    } finally {
      submitButton.disabled = false;
    }
  });
  keyInput.addEventListener("input", () => showKeyError(""));
}
