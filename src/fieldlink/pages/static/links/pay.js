// Invoice payment form: one submission per click (the server is idempotent anyway), and,
// with Stripe, card fields from Stripe.js so card data never reaches our server.
(function () {
  "use strict";
  var form = document.getElementById("pay-form");
  if (!form) { return; }
  var button = document.getElementById("pay-button");
  var mount = document.getElementById("card-element");
  var sent = false;

  if (!mount) {
    form.addEventListener("submit", function (event) {
      if (sent) { event.preventDefault(); return; }
      sent = true;
      button.disabled = true;
    });
    return;
  }
  if (typeof Stripe === "undefined") { return; }
  var stripe = Stripe(mount.getAttribute("data-key"));
  var card = stripe.elements().create("card");
  card.mount(mount);
  form.addEventListener("submit", function (event) {
    if (document.getElementById("payment-method").value) { return; }
    event.preventDefault();
    if (sent) { return; }
    sent = true;
    button.disabled = true;
    stripe.createPaymentMethod({ type: "card", card: card }).then(function (result) {
      if (result.error) {
        sent = false;
        button.disabled = false;
        window.alert(result.error.message);
        return;
      }
      document.getElementById("payment-method").value = result.paymentMethod.id;
      form.submit();
    });
  });
})();
