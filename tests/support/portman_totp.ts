/**
 * A Postman pre-request script that answers a TOTP enrolment (RFC 6238: HMAC-SHA1, 6 digits,
 * 30 s) with the code of the moment the request is sent, using the CryptoJS of Postman's
 * sandbox. The request carries a fixed code, which its fuzzing variations (they carry no
 * scripts) change; the script puts the current code in its place.
 * @module
 */

/** The script, for the base32 `secret` of an enrolment the fixtures started. */
export function totpScript(secret: string): string {
  return `// The current TOTP code of the enrolment (tests/support/portman_totp.ts)
(function () {
  var CryptoJS = require("crypto-js");
  var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  var bits = ${JSON.stringify(secret)}.replace(/=+$/, "").split("").map(function (c) {
    return ("0000" + alphabet.indexOf(c.toUpperCase()).toString(2)).slice(-5);
  }).join("");
  var key = "";
  for (var i = 0; i + 8 <= bits.length; i += 8) {
    key += ("0" + parseInt(bits.substr(i, 8), 2).toString(16)).slice(-2);
  }
  var counter = ("0000000000000000" + Math.floor(Date.now() / 30000).toString(16)).slice(-16);
  var mac = CryptoJS.HmacSHA1(CryptoJS.enc.Hex.parse(counter), CryptoJS.enc.Hex.parse(key))
    .toString();
  var offset = parseInt(mac.slice(-1), 16);
  var code = (parseInt(mac.substr(offset * 2, 8), 16) & 0x7fffffff) % 1000000;
  pm.request.body.update(JSON.stringify({ code: ("00000" + code).slice(-6) }));
})();`;
}
