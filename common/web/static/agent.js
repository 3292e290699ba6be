/* Village agent screens: check a resident identity number (GB 11643) as it is typed, and
   bring a refused form's summary of problems into focus. Only a help: the server checks
   everything again and its answer is what counts. */
(function () {
  "use strict";
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECK = "10X98765432";

  function problem(value) {
    var number = value.replace(/\s+/g, "").toUpperCase();
    if (!number) { return ""; }
    if (number.length !== 18) { return "身份证号码应为18位，现在是" + number.length + "位"; }
    if (!/^\d{17}[\dX]$/.test(number)) { return "身份证号码前17位应为数字，最后一位应为数字或X"; }
    var y = +number.slice(6, 10), m = +number.slice(10, 12), d = +number.slice(12, 14);
    var born = new Date(y, m - 1, d);
    if (born.getFullYear() !== y || born.getMonth() !== m - 1 || born.getDate() !== d) {
      return "身份证号码中的出生日期不是有效日期";
    }
    if (born > new Date()) { return "身份证号码中的出生日期晚于今天"; }
    var total = 0;
    for (var i = 0; i < 17; i++) { total += (+number.charAt(i)) * WEIGHTS[i]; }
    if (CHECK.charAt(total % 11) !== number.charAt(17)) { return "身份证号码校验位错误，请核对是否输错"; }
    return "";
  }

  function setup(input) {
    var kind = document.getElementById("f-applicant_kind");
    var message = document.createElement("p");
    message.className = "field-error";
    message.id = "js-" + input.id;
    message.setAttribute("aria-live", "polite");
    message.setAttribute("data-testid", "id-check-message");
    input.parentNode.appendChild(message);

    function check() {
      var text = (!kind || kind.value === "person") ? problem(input.value) : "";
      message.textContent = text;
      message.hidden = !text;
      if (text) { input.setAttribute("aria-invalid", "true"); }
      else if (!input.parentNode.querySelector(".field-error:not([id^='js-'])")) { input.removeAttribute("aria-invalid"); }
    }
    input.addEventListener("blur", check);
    input.addEventListener("input", function () { if (input.value.replace(/\s+/g, "").length >= 18 || message.textContent) { check(); } });
    if (kind) { kind.addEventListener("change", check); }
    message.hidden = true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var inputs = document.querySelectorAll("input[data-idcheck]");
    for (var i = 0; i < inputs.length; i++) { setup(inputs[i]); }
    // A refused form: start at the list of everything to correct (read out at once).
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }
  });
})();
