document.addEventListener("click", function (event) {
  var el = event.target;
  if (!window.sourceloop) { return; }
  if (el.id === "book") { window.sourceloop("track", "meeting_booked", {}); el.textContent = "Booked!"; }
  if (el.id === "buy") {
    window.sourceloop("track", "payment_received", { value: el.dataset.value, currency: "USD" });
    el.textContent = "Thank you for your order";
  }
});
