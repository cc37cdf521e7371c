// Test harness: reads {header, bodyBase64, secret, now} as JSON on stdin, prints "true" or "false".
const { verifyMollySignature } = require('./verify-molly-signature.js');
let input = '';
process.stdin.on('data', d => { input += d; });
process.stdin.on('end', () => {
  const c = JSON.parse(input);
  process.stdout.write(String(verifyMollySignature(c.header, Buffer.from(c.bodyBase64, 'base64'), c.secret, 300, c.now)));
});
