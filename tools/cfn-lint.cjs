#!/usr/bin/env node
// cfn-lint (npm 1.9.7) with the CloudFormation resource specification from @aws-cdk/cfnspec instead of its own, older
// one (which rejects KMS KeySpec and other newer properties). Usage: node tools/cfn-lint.cjs template.json...
// Exit code 1 when any template has a critical error.
'use strict';
const awsData = require('cfn-lint/lib/awsData');
const spec = require('@aws-cdk/cfnspec').specification();
// Properties newer than cfnspec 2.72.1 (CloudFormation spec 117) that CDK 2.160.0 emits. Each patch is typed, not a
// wildcard: the linter still checks everything inside.
const mutable = { Required: false, UpdateType: 'Mutable', Documentation: '' };
spec.PropertyTypes['AWS::Lambda::Function.LoggingConfig'] = {
  Documentation: '',
  Properties: {
    LogFormat: { ...mutable, PrimitiveType: 'String' },
    LogGroup: { ...mutable, PrimitiveType: 'String' },
    ApplicationLogLevel: { ...mutable, PrimitiveType: 'String' },
    SystemLogLevel: { ...mutable, PrimitiveType: 'String' },
  },
};
spec.ResourceTypes['AWS::Lambda::Function'].Properties.LoggingConfig = { ...mutable, Type: 'LoggingConfig' };
awsData.awsResources = spec;
const api = require('cfn-lint/lib/api');
const fs = require('fs');
const os = require('os');
const path = require('path');

let failed = 0;
for (const file of process.argv.slice(2)) {
  // cfn-lint 1.9.7 does not know the template's Rules section (CDK's CheckBootstrapVersion): lint the rest.
  const template = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (template.Rules) { console.log(`${file}: Rules section (${Object.keys(template.Rules).join(', ')}) not linted`); delete template.Rules; }
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cfnlint-')), path.basename(file));
  fs.writeFileSync(tmp, JSON.stringify(template));
  const result = api.validateFile(tmp, { guessParameters: undefined });
  const crit = result.errors.crit;
  console.log(`${file}: ${crit.length} crit, ${result.errors.warn.length} warn`);
  for (const e of crit) console.log(`  CRIT ${e.resource}: ${e.message}`);
  for (const e of result.errors.warn) console.log(`  warn ${e.resource}: ${e.message}`);
  if (!result.templateValid || crit.length > 0) failed++;
}
if (process.argv.length < 3) { console.error('usage: cfn-lint.cjs template.json...'); process.exit(2); }
process.exit(failed > 0 ? 1 : 0);
