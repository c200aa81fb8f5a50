// Passkeys in the browser (WebAuthn): sign-in on the login page (conditional UI in the
// username field's autofill, and a button), registration on /account/passkeys. The options
// are the gateway's JSON (base64url for binary values): in the login page itself, fetched on
// the click for a registration; the credential goes back as JSON in a hidden field of an
// ordinary form, so the answer is an ordinary page or redirect.
"use strict";
(function () {
  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toText(buffer) {
    var bytes = new Uint8Array(buffer), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function descriptors(list) {
    return (list || []).map(function (d) { return Object.assign({}, d, { id: toBytes(d.id) }); });
  }
  function asJSON(cred) {
    var r = cred.response, out = {
      id: cred.id, rawId: toText(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: { clientDataJSON: toText(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      out.response.userHandle = r.userHandle ? toText(r.userHandle) : null;
    }
    return out;
  }
  function say(form, key) {
    var box = document.getElementById("passkey-message");
    if (!box) return;
    box.textContent = form.dataset[key] || key;
    box.dataset.code = key;
    box.hidden = false;
  }
  async function options(form) {
    var body = new FormData();
    body.append("csrf_token", form.elements.csrf_token.value);
    if (form.elements.password) body.append("password", form.elements.password.value);
    var answer = await fetch(form.dataset.options, { method: "POST", body: body,
                                                     credentials: "same-origin" });
    var json = await answer.json();
    if (!answer.ok) throw new Error(json.error || "passkey_expired");
    return json;
  }

  var login = document.getElementById("passkey-form");
  if (login) {
    var pending = null;
    var signIn = async function (mediation) {
      var json = JSON.parse(login.dataset.request);  // made with the page: no request on load
      json.challenge = toBytes(json.challenge);
      json.allowCredentials = descriptors(json.allowCredentials);
      pending = new AbortController();
      var cred = await navigator.credentials.get({ publicKey: json, mediation: mediation,
                                                   signal: pending.signal });
      login.elements.credential.value = JSON.stringify(asJSON(cred));
      login.submit();
    };
    if (!window.PublicKeyCredential) {
      say(login, "unsupported");
    } else if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
        if (yes) signIn("conditional").catch(function () {});
      });
    }
    document.getElementById("passkey-button").addEventListener("click", function () {
      if (pending) pending.abort();
      signIn("optional").catch(function (err) {
        if (err && err.name !== "AbortError") say(login, "cancelled");
      });
    });
  }

  var add = document.getElementById("passkey-add");
  if (add) {
    add.addEventListener("submit", function (event) {
      event.preventDefault();
      (async function () {
        var json = await options(add);
        json.challenge = toBytes(json.challenge);
        json.user.id = toBytes(json.user.id);
        json.excludeCredentials = descriptors(json.excludeCredentials);
        var cred = await navigator.credentials.create({ publicKey: json });
        add.elements.credential.value = JSON.stringify(asJSON(cred));
        add.submit();
      })().catch(function (err) {
        say(add, err && /^[a-z_]+$/.test(err.message) && add.dataset[err.message]
            ? err.message : "cancelled");
      });
    });
  }
})();
