// README snippet (Node.js, no dependencies): verify a Molly webhook before trusting it.
const crypto = require('crypto');

// header: req.headers['molly-signature']; rawBody: the request body as a Buffer, before any JSON parsing.
function verifyMollySignature(header, rawBody, secret, toleranceSeconds = 300, nowSeconds = Math.floor(Date.now() / 1000)) {
  let t = null;
  const signatures = [];
  for (const part of String(header || '').split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) return false;
    const key = part.slice(0, i), value = part.slice(i + 1);
    if (key === 't') t = value;
    else if (key === 'v1') signatures.push(value);
  }
  if (!t || !/^\d+$/.test(t) || Math.abs(nowSeconds - Number(t)) > toleranceSeconds) return false; // stale: a replay
  const expected = crypto.createHmac('sha256', secret).update(t + '.').update(rawBody).digest('hex');
  return signatures.some(s => s.length === expected.length && crypto.timingSafeEqual(Buffer.from(s), Buffer.from(expected)));
}

module.exports = { verifyMollySignature };
