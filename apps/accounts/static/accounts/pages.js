// The pages behind the emailed links (/verify-email, /reset-password): post the link's token to the API.
// A static file, not an inline script, so a strict Content-Security-Policy (script-src 'self') holds.
(function () {
  "use strict";

  var form = document.getElementById("account-form");
  var status = document.getElementById("status");
  if (!form || !status) {
    return;
  }
  var button = form.querySelector("button");
  var token = new URLSearchParams(window.location.search).get("token") || "";

  function show(kind, message, details) {
    status.className = "status " + kind;
    status.textContent = message;
    if (details) {
      var list = document.createElement("ul");
      Object.keys(details).forEach(function (field) {
        [].concat(details[field]).forEach(function (text) {
          var item = document.createElement("li");
          item.textContent = String(text);
          list.appendChild(item);
        });
      });
      status.appendChild(list);
    }
  }

  if (!token) {
    form.hidden = true;
    show("error", "This link has no token: open the link from the email as it is.");
    return;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = { token: token };
    var password = form.elements.namedItem("new_password");
    if (password) {
      if (password.value !== form.elements.namedItem("confirm_password").value) {
        show("error", "The two passwords are not the same.");
        return;
      }
      body.new_password = password.value;
    }
    button.disabled = true;
    fetch(form.dataset.api, {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    })
      .then(function (response) {
        if (response.ok) {
          form.hidden = true;
          show("success", form.dataset.done);
          return null;
        }
        return response.json().then(function (data) {
          var error = (data && data.error) || {};
          var details = error.details && typeof error.details === "object" ? error.details : null;
          show("error", error.message || "That did not work (" + response.status + ").", details);
        });
      })
      .catch(function () {
        show("error", "Olympus could not be reached. Try again in a moment.");
      })
      .then(function () {
        button.disabled = false;
      });
  });
})();
