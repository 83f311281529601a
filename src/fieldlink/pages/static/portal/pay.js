// Portal card forms (pay an invoice, save a card): one submission per click, and with
// Stripe, card fields from Stripe.js so card data never reaches our server. A saved card
// chosen on the pay form is sent as is.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form) { return; }
  var button = document.getElementById("card-submit");
  var mount = document.getElementById("card-element");
  var sent = false;
  var card = null;
  var stripe = null;
  if (mount && typeof Stripe !== "undefined") {
    stripe = Stripe(mount.getAttribute("data-key"));
    card = stripe.elements().create("card");
    card.mount(mount);
  }
  function usingSavedCard() {
    var saved = form.querySelector("input[name=saved]:checked");
    return saved && saved.value !== "new";
  }
  form.addEventListener("submit", function (event) {
    if (sent) { event.preventDefault(); return; }
    if (!card || usingSavedCard() || document.getElementById("payment-method").value) {
      sent = true;
      button.disabled = true;
      return;
    }
    event.preventDefault();
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
