/*
 * Security keys (WebAuthn) for the account security page and the 2FA sign-in.
 *
 * No inline script (the CSP forbids it): each box is a [data-webauthn] element
 * with the URLs and the CSRF token in data- attributes (and optionally
 * data-next: where to go once a key is registered). A box may hold a
 * [data-webauthn-give-up] checkbox (shown while the maintainer could still
 * claim the giveaway's free keys): its answer goes with the registration, and
 * the key is not even asked for while it is unticked. Options are fetched
 * ahead of time, so that navigator.credentials.* runs directly in the click
 * handler (some browsers refuse it outside a user gesture).
 */
(function () {
  "use strict";

  // The words come from the page, translated (js/messages.js).
  var MESSAGES = window.pageMessages("webauthn");

  function b64urlToBuffer(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function bufferToB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    var options = Object.assign({}, json);
    options.challenge = b64urlToBuffer(json.challenge);
    options.user = Object.assign({}, json.user, { id: b64urlToBuffer(json.user.id) });
    options.excludeCredentials = (json.excludeCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: b64urlToBuffer(c.id) });
    });
    return options;
  }

  function requestOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    var options = Object.assign({}, json);
    options.challenge = b64urlToBuffer(json.challenge);
    options.allowCredentials = (json.allowCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: b64urlToBuffer(c.id) });
    });
    return options;
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") {
      try {
        return credential.toJSON();
      } catch (e) {
        /* fall through to the manual conversion */
      }
    }
    var r = credential.response;
    var response = { clientDataJSON: bufferToB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = bufferToB64url(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = bufferToB64url(r.authenticatorData);
      response.signature = bufferToB64url(r.signature);
      if (r.userHandle) response.userHandle = bufferToB64url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: bufferToB64url(credential.rawId),
      type: credential.type,
      response: response,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {}
    };
  }

  // Why the browser said no. Chromium answers NotAllowedError alike for a
  // cancel, a timeout and (at sign-in) a key that holds none of the listed
  // credentials; the time it took tells a timeout apart, the mode the rest.
  function errorMessage(error, mode, elapsed, timeout) {
    if (!error) return MESSAGES.cancelled;
    if (error.name === "NotAllowedError" || error.name === "AbortError") {
      if (timeout && elapsed >= timeout * 0.9) return MESSAGES.timedOut;
      return mode === "register" ? MESSAGES.cancelled : MESSAGES.notRegistered;
    }
    if (error.name === "InvalidStateError") return MESSAGES.duplicate;
    if (error.name === "SecurityError") return MESSAGES.security;
    if (error.name === "NotSupportedError") return MESSAGES.unsupported;
    return MESSAGES.cancelled;
  }

  // A 429 answer says in its JSON how long to wait, worded by the server;
  // only an answer without words falls back to the page's general sentence.
  function tooMany() {
    return MESSAGES.tooMany;
  }

  function postJSON(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return { error: response.status === 429 ? tooMany() : MESSAGES.network };
        })
        .then(function (data) {
          data = data || {};
          data.status = response.status;
          if (response.status === 429 && !data.error) data.error = tooMany();
          return data;
        });
    });
  }

  function setup(box) {
    var mode = box.getAttribute("data-webauthn");
    var button = box.querySelector("[data-webauthn-start]");
    var status = box.querySelector("[data-webauthn-status]");
    var labelInput = box.querySelector("[data-webauthn-label]");
    var giveUpBox = box.querySelector("[data-webauthn-give-up]");
    var csrf = box.getAttribute("data-csrf");
    var optionsUrl = box.getAttribute("data-options-url");
    var verifyUrl = box.getAttribute("data-verify-url");
    var options = null;
    var busy = false;

    function say(text, kind) {
      status.textContent = text;
      status.classList.toggle("is-error", kind === "error");
      status.classList.toggle("is-ok", kind === "ok");
    }

    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(MESSAGES.unsupported, "error");
      button.disabled = true;
      return;
    }

    function prepare() {
      options = null;
      button.disabled = true;
      return postJSON(optionsUrl, csrf, {})
        .then(function (data) {
          if (data.error) {
            if (data.redirect) window.location.assign(data.redirect);
            say(data.error, "error");
            return;
          }
          delete data.status;
          options = data;
          button.disabled = false;
        })
        .catch(function () {
          say(MESSAGES.network, "error");
        });
    }

    function finish(credential) {
      say(MESSAGES.checking);
      var body = { credential: credentialJSON(credential) };
      if (labelInput) body.label = labelInput.value;
      if (giveUpBox) body.give_up_keys = giveUpBox.checked;
      if (box.getAttribute("data-next")) body.next = box.getAttribute("data-next");
      return postJSON(verifyUrl, csrf, body).then(function (data) {
        if (data.ok && data.redirect) {
          say(MESSAGES.done, "ok");
          window.location.assign(data.redirect);
          return;
        }
        if (data.redirect) {
          window.location.assign(data.redirect);
          return;
        }
        say(data.error || MESSAGES.network, "error");
        if (data.field === "label" && labelInput) labelInput.focus();
        if (data.field === "give_up_keys" && giveUpBox) giveUpBox.focus();
        // The challenge was used up or refused: get a fresh one for the next try
        // (a refused name or confirmation is checked first and keeps it).
        if (data.field !== "label" && data.field !== "give_up_keys") return prepare();
      });
    }

    button.addEventListener("click", function () {
      if (busy || !options) return;
      var promise;
      var started = Date.now();
      var timeout = options.timeout || 0;
      if (mode === "register") {
        var label = labelInput.value.trim();
        if (!label) {
          say(MESSAGES.label, "error");
          labelInput.focus();
          return;
        }
        if (label.length > 64) {
          say(MESSAGES.labelLong, "error");
          labelInput.focus();
          return;
        }
        if (giveUpBox && !giveUpBox.checked) {
          say(MESSAGES.giveUp, "error");
          giveUpBox.focus();
          return;
        }
        say(MESSAGES.waitingCreate);
        // Called straight from the click, before any other await.
        promise = navigator.credentials.create({ publicKey: creationOptions(options) });
      } else {
        say(MESSAGES.waitingGet);
        promise = navigator.credentials.get({ publicKey: requestOptions(options) });
      }
      busy = true;
      button.disabled = true;
      promise
        .then(function (credential) {
          if (!credential) throw { name: "NotAllowedError" };
          return finish(credential);
        })
        .catch(function (error) {
          say(errorMessage(error, mode, Date.now() - started, timeout), "error");
          return prepare();
        })
        .then(function () {
          busy = false;
          if (options) button.disabled = false;
        });
    });

    say(MESSAGES.preparing);
    prepare().then(function () {
      if (options) say(MESSAGES.ready);
    });
  }

  document.querySelectorAll("[data-webauthn]").forEach(setup);
})();
