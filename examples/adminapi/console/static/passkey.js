// Passkey ceremonies for the console: the one script it serves, from its
// own origin (CSP script-src 'self'). Buttons marked data-passkey stay
// hidden without it; every page works without it.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  function bytes(s) {
    var b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) {
      out[i] = b.charCodeAt(i);
    }
    return out.buffer;
  }
  function text(buf) {
    var a = new Uint8Array(buf), s = "";
    for (var i = 0; i < a.length; i++) {
      s += String.fromCharCode(a[i]);
    }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creation(o) {
    var p = o.publicKey;
    p.challenge = bytes(p.challenge);
    p.user.id = bytes(p.user.id);
    (p.excludeCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
    return { publicKey: p };
  }
  function request(o) {
    var p = o.publicKey;
    p.challenge = bytes(p.challenge);
    (p.allowCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
    return { publicKey: p };
  }
  function answer(cred) {
    var r = cred.response;
    var out = { id: cred.id, rawId: text(cred.rawId), type: cred.type, authenticatorAttachment: cred.authenticatorAttachment,
      clientExtensionResults: cred.getClientExtensionResults(), response: { clientDataJSON: text(r.clientDataJSON) } };
    if (r.attestationObject) {
      out.response.attestationObject = text(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = text(r.authenticatorData);
      out.response.signature = text(r.signature);
      if (r.userHandle) {
        out.response.userHandle = text(r.userHandle);
      }
    }
    return out;
  }
  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}) }).then(function (res) {
      return res.json().then(function (j) {
        if (!res.ok) {
          throw new Error(j.error || "refused");
        }
        return j;
      });
    });
  }
  function run(btn) {
    var status = document.getElementById("passkey-status");
    var name = document.getElementById("passkey-name");
    btn.disabled = true;
    post(btn.dataset.begin).then(function (begin) {
      var ask = begin.registration ? navigator.credentials.create(creation(begin.options)) : navigator.credentials.get(request(begin.options));
      return ask.then(function (cred) {
        return post(btn.dataset.finish, { ceremony: begin.ceremony, name: name ? name.value : "", response: answer(cred) });
      });
    }).then(function (done) {
      window.location.assign(done.redirect || window.location.pathname + window.location.search);
    }).catch(function (e) {
      btn.disabled = false;
      if (status) {
        status.textContent = e && e.message && e.message !== "refused" ? e.message : "The passkey was not accepted; try again.";
        status.hidden = false;
      }
    });
  }
  document.querySelectorAll("[data-passkey]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () { run(btn); });
  });
})();
