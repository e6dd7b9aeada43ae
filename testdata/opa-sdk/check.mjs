// check.mjs drives a running gatehouse with OPA's official TypeScript SDK
// (@open-policy-agent/opa), exactly as an application drives OPA, and
// prints one JSON object with what each call answered or threw. The Go
// test cmd/gatehouse TestOPATypeScriptSDK runs it and asserts the answers.
//
//   node check.mjs <gatehouse URL> [<URL of a gatehouse whose --default-decision is gatehouse/decision/result/grant>]
import { OPAClient } from "@open-policy-agent/opa";

const [url, grantURL] = process.argv.slice(2);
if (!url) {
  console.error("usage: node check.mjs <gatehouse URL> [<grant default-decision URL>]");
  process.exit(2);
}

const alice = { subject: "alice", action: "manage", resource: { account: "acme" } };
const bob = { subject: "bob", action: "manage", resource: { account: "acme" } };
const bobEMEA = { subject: "bob", action: "use", resource: { account: "acme", virtual_account: "acme-emea" } };
// A caller may not hand gatehouse the records a decision is made on.
const forged = {
  subject: "mallory",
  action: "manage",
  resource: { account: "acme" },
  membership: { roles: ["account_admin"] },
};

// settle runs call and returns {ok: answer} or {error: what the SDK threw}.
async function settle(call) {
  try {
    return { ok: await call() };
  } catch (err) {
    return { error: await describe(err) };
  }
}

// describe keeps what an application reads of an SDK error: its name,
// message and code, and for an SDKError (a status the SDK has no model
// for, such as the Data API's 404) the status; the SDK has read its body.
async function describe(err) {
  if (typeof err !== "object" || err === null) {
    return { name: typeof err, message: String(err) };
  }
  const out = { name: err.name, message: err.message };
  if (err.code !== undefined) out.code = err.code;
  if (err.errors !== undefined) out.errors = err.errors;
  const status = err.httpMeta?.response?.status ?? err.statusCode;
  if (status !== undefined) out.status = status;
  return out;
}

const opa = new OPAClient(url);
const out = {
  evaluateResultAlice: await settle(() => opa.evaluate("gatehouse/decision/result", alice)),
  evaluateResultBob: await settle(() => opa.evaluate("gatehouse/decision/result", bob)),
  evaluateAllowAlice: await settle(() => opa.evaluate("gatehouse/decision/allow", alice)),
  evaluateAllowBob: await settle(() => opa.evaluate("gatehouse/decision/allow", bob)),
  evaluateReasonAlice: await settle(() => opa.evaluate("gatehouse/decision/result/reasons/0", alice)),
  evaluateDefaultAlice: await settle(() => opa.evaluateDefault(alice)),
  evaluateDefaultBob: await settle(() => opa.evaluateDefault(bob)),
  evaluateBatch: await settle(() =>
    opa.evaluateBatch("gatehouse/decision/result", { alice, bob, bobEMEA }),
  ),
  evaluateBatchAllow: await settle(() =>
    opa.evaluateBatch("gatehouse/decision/allow", { alice, bob }, { rejectMixed: true }),
  ),
  evaluateForged: await settle(() => opa.evaluate("gatehouse/decision/result", forged)),
  evaluateDefaultForged: await settle(() => opa.evaluateDefault(forged)),
  evaluateBatchForged: await settle(() =>
    opa.evaluateBatch("gatehouse/decision/result", { alice, forged }),
  ),
  evaluateNoEntryPoint: await settle(() => opa.evaluate("gatehouse/roles", alice)),
};
if (grantURL) {
  const grant = new OPAClient(grantURL);
  out.grantDefaultAlice = await settle(() => grant.evaluateDefault(alice));
  out.grantDefaultBob = await settle(() => grant.evaluateDefault(bob));
}
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
