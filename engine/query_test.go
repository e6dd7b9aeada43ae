package engine_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// decisionRecorder is a DecisionObserver that keeps what it is told.
type decisionRecorder struct {
	mu        sync.Mutex
	decisions []engine.Decision
	requests  []engine.DecisionRequest
}

func (r *decisionRecorder) ObserveDecision(req engine.DecisionRequest, d engine.Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, req)
	r.decisions = append(r.decisions, d)
}

// Issue 7 §1: only the documented entry points are queryable; every other
// path is an undefined document, found out without evaluating anything.
func TestParseDataPathOnlyEntryPoints(t *testing.T) {
	for _, path := range []string{
		"gatehouse/decision/result", "/gatehouse/decision/result", "gatehouse/decision/result/",
		"gatehouse/decision/result/allow", "gatehouse/decision/result/reasons",
		"gatehouse/decision/result/reasons/0", "gatehouse/decision/result/reasons/12",
		"gatehouse/decision/result/grant", "gatehouse/decision/result/grant/kind",
		"gatehouse/decision/result/grant/account", "gatehouse/decision/result/grant/request",
		"gatehouse/decision/result/grant/approved_by", "gatehouse/decision/allow",
	} {
		t.Run("entry point "+path, func(t *testing.T) {
			_, err := engine.ParseDataPath(path)
			require.NoError(t, err)
		})
	}
	tests := []struct{ path, ref string }{
		{"", "data"},
		{"/", "data"},
		{"gatehouse", "data.gatehouse"},
		{"gatehouse/decision", "data.gatehouse.decision"},
		{"gatehouse/decision_test", "data.gatehouse.decision_test"},
		{"gatehouse/decision_test/test_allow_admin", "data.gatehouse.decision_test.test_allow_admin"},
		{"gatehouse/roles_test", "data.gatehouse.roles_test"},
		{"gatehouse/admission/result", "data.gatehouse.admission.result"},
		{"gatehouse/admission", "data.gatehouse.admission"},
		{"gatehouse/roles/answer", "data.gatehouse.roles.answer"},
		{"gatehouse/config", "data.gatehouse.config"},
		{"gatehouse/decision/problems", "data.gatehouse.decision.problems"},
		{"gatehouse/decision/kind", "data.gatehouse.decision.kind"},
		{"gatehouse/decision/result/foo", "data.gatehouse.decision.result.foo"},
		{"gatehouse/decision/result/allow/x", "data.gatehouse.decision.result.allow.x"},
		{"gatehouse/decision/result/reasons/01", `data.gatehouse.decision.result.reasons["01"]`},
		{"gatehouse/decision/result/reasons/-1", `data.gatehouse.decision.result.reasons["-1"]`},
		{"gatehouse/decision/result/grant/role/x", "data.gatehouse.decision.result.grant.role.x"},
		{"gatehouse/decision/allow/x", "data.gatehouse.decision.allow.x"},
		{"gatehouse//decision/result", `data.gatehouse[""].decision.result`},
		{"Gatehouse/Decision/Result", "data.Gatehouse.Decision.Result"},
		{"system/main", "data.system.main"},
		{"gatehouse/con fig", `data.gatehouse["con fig"]`},
	}
	for _, tt := range tests {
		t.Run("undefined "+tt.path, func(t *testing.T) {
			_, err := engine.ParseDataPath(tt.path)
			require.ErrorIs(t, err, engine.ErrNotFound)
			var ude *engine.UndefinedDocumentError
			require.True(t, errors.As(err, &ude))
			assert.Equal(t, tt.ref, ude.Ref)
			assert.Contains(t, err.Error(), "document missing: "+tt.ref)
		})
	}
	t.Run("a long path is shortened in the error", func(t *testing.T) {
		long := make([]byte, 5000)
		for i := range long {
			long[i] = 'a'
		}
		_, err := engine.ParseDataPath(string(long))
		var ude *engine.UndefinedDocumentError
		require.True(t, errors.As(err, &ude))
		assert.LessOrEqual(t, len(ude.Ref), 210)
	})
}

// Issue 7 §1: a Data API query is a real decision, made by Decide on the
// store, told to the observers, answering what Decide answers.
func TestQueryIsTheDecision(t *testing.T) {
	store := openEmbedded(t)
	seedDecisionData(t, store)
	var seen decisionRecorder
	eng, err := engine.New(store, builtinPolicy(t),
		engine.WithClock(func() time.Time { return decisionNow }), engine.WithObserver(&seen),
		engine.WithDecisionTimeout(testDecisionTimeout))
	require.NoError(t, err)
	result, err := engine.ParseDataPath("gatehouse/decision/result")
	require.NoError(t, err)

	for _, req := range []engine.DecisionRequest{
		{Subject: "alice", Action: "manage", Resource: engine.Resource{Account: "acme"}},
		{Subject: "tim", Action: "use", Resource: engine.Resource{Account: "acme"}},
		{Subject: "bob", Action: "use", Resource: engine.Resource{Account: "acme", VirtualAccount: "us"}},
		{Subject: "mallory", Action: "view", Resource: engine.Resource{Account: "acme"}},
	} {
		t.Run(req.Subject+" "+req.Action, func(t *testing.T) {
			want := eng.Decide(t.Context(), req)
			before := len(seen.decisions)
			res, err := eng.Query(t.Context(), result, req)
			require.NoError(t, err)
			require.True(t, res.Defined)
			got, ok := res.Result.(engine.DecisionResult)
			require.True(t, ok, "%T", res.Result)
			assert.Equal(t, engine.DecisionResult{Allow: want.Allow, Reasons: want.Reasons, Grant: want.Grant}, got)
			assert.NotEqual(t, want.DecisionID, res.DecisionID, "a query is a decision of its own")
			assert.Equal(t, eng.Policy().Revision, res.PolicyRevision)
			require.Len(t, seen.decisions, before+1, "the observers are told of the query's decision")
			assert.Equal(t, res.DecisionID, seen.decisions[before].DecisionID)
			assert.Equal(t, req, seen.requests[before])
		})
	}

	t.Run("the documents below the entry point", func(t *testing.T) {
		allow := engine.DecisionRequest{Subject: "tim", Action: "use", Resource: engine.Resource{Account: "acme"}}
		deny := engine.DecisionRequest{Subject: "carol", Action: "view", Resource: engine.Resource{Account: "acme"}}
		tests := []struct {
			path    string
			req     engine.DecisionRequest
			want    any
			defined bool
		}{
			{"gatehouse/decision/result/allow", allow, true, true},
			{"gatehouse/decision/result/allow", deny, false, true},
			{"gatehouse/decision/allow", allow, true, true},
			{"gatehouse/decision/allow", deny, false, true},
			{"gatehouse/decision/result/reasons/0", deny, "carol is not a member of acme", true},
			{"gatehouse/decision/result/reasons/1", deny, nil, false},
			{"gatehouse/decision/result/grant/kind", allow, "membership", true},
			{"gatehouse/decision/result/grant/request", allow, "req-1", true},
			{"gatehouse/decision/result/grant/approved_by", allow, "alice", true},
			{"gatehouse/decision/result/grant", deny, nil, false},
			{"gatehouse/decision/result/grant/kind", deny, nil, false},
		}
		for _, tt := range tests {
			path, err := engine.ParseDataPath(tt.path)
			require.NoError(t, err)
			res, err := eng.Query(t.Context(), path, tt.req)
			require.NoError(t, err)
			assert.Equal(t, tt.defined, res.Defined, tt.path)
			assert.Equal(t, tt.want, res.Result, tt.path)
			assert.NotEmpty(t, res.DecisionID)
		}
		grant, err := engine.ParseDataPath("gatehouse/decision/result/grant")
		require.NoError(t, err)
		res, err := eng.Query(t.Context(), grant, allow)
		require.NoError(t, err)
		assert.Equal(t, &engine.DecisionGrant{Kind: "membership", Account: "acme", Request: "req-1", ApprovedBy: "alice"}, res.Result)
	})

	t.Run("R44 a malformed question is an error naming the input field, and no decision", func(t *testing.T) {
		before := len(seen.decisions)
		_, err := eng.Query(t.Context(), result, engine.DecisionRequest{Subject: "alice", Action: "view"})
		var fe *engine.FieldError
		require.True(t, errors.As(err, &fe), "%v", err)
		assert.Equal(t, "input.resource.account", fe.Field)
		assert.Len(t, seen.decisions, before)
	})

	t.Run("R45 a store outage is a deny, as for Decide", func(t *testing.T) {
		closed := openEmbedded(t)
		eng, err := engine.New(closed, builtinPolicy(t))
		require.NoError(t, err)
		require.NoError(t, closed.Close())
		res, err := eng.Query(t.Context(), result, engine.DecisionRequest{Subject: "alice", Action: "manage", Resource: engine.Resource{Account: "acme"}})
		require.NoError(t, err)
		assert.False(t, res.Result.(engine.DecisionResult).Allow)
		assert.Equal(t, "store_unavailable", res.Decision.Error)
	})
}

// Issue 7 §1: the input is the question; the records a decision is made on
// come from the store and the clock, never from the caller.
func TestParseDecisionInput(t *testing.T) {
	question := func(extra map[string]any) map[string]any {
		in := map[string]any{"subject": "alice", "action": "manage", "resource": map[string]any{"account": "acme"}}
		for k, v := range extra {
			in[k] = v
		}
		return in
	}
	t.Run("the question", func(t *testing.T) {
		req, err := engine.ParseDecisionInput(map[string]any{
			"subject": "alice", "action": "use",
			"resource": map[string]any{"account": "acme", "virtual_account": "va1"},
			"context":  map[string]any{"n": json.Number("9007199254740993")},
		})
		require.NoError(t, err)
		assert.Equal(t, engine.DecisionRequest{
			Subject: "alice", Action: "use", Resource: engine.Resource{Account: "acme", VirtualAccount: "va1"},
			Context: map[string]any{"n": json.Number("9007199254740993")},
		}, req)
	})
	tests := []struct {
		name  string
		input any
		field string
	}{
		{"no input", nil, "input"},
		{"input not an object", []any{"alice"}, "input"},
		{"a forged user", question(map[string]any{"user": map[string]any{"id": "alice"}}), "input.user"},
		{"a forged account", question(map[string]any{"account": map[string]any{"id": "acme"}}), "input.account"},
		{"a forged membership", question(map[string]any{"membership": map[string]any{"roles": []any{"account_admin"}}}), "input.membership"},
		{"a forged partner membership", question(map[string]any{"partner_membership": map[string]any{}}), "input.partner_membership"},
		{"forged tenant grants", question(map[string]any{"tenant": map[string]any{"exclusive": false}}), "input.tenant"},
		{"a forged clock", question(map[string]any{"now_ns": json.Number("1")}), "input.now_ns"},
		{"a forged null user", question(map[string]any{"user": nil}), "input.user"},
		{"an unknown field", question(map[string]any{"grants": []any{}}), "input.grants"},
		{"a field in another case", question(map[string]any{"Subject": "root"}), "input.Subject"},
		{"subject not a string", question(map[string]any{"subject": json.Number("7")}), "input.subject"},
		{"missing subject", map[string]any{"action": "view", "resource": map[string]any{"account": "acme"}}, "input.subject"},
		{"bad subject", question(map[string]any{"subject": "al ice"}), "input.subject"},
		{"missing action", map[string]any{"subject": "alice", "resource": map[string]any{"account": "acme"}}, "input.action"},
		{"resource not an object", question(map[string]any{"resource": "acme"}), "input.resource"},
		{"missing account", question(map[string]any{"resource": map[string]any{}}), "input.resource.account"},
		{"unknown resource field", question(map[string]any{"resource": map[string]any{"account": "acme", "owner": "x"}}), "input.resource.owner"},
		{"bad virtual account", question(map[string]any{"resource": map[string]any{"account": "acme", "virtual_account": "v/1"}}), "input.resource.virtual_account"},
		{"context not an object", question(map[string]any{"context": []any{}}), "input.context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := engine.ParseDecisionInput(tt.input)
			var fe *engine.FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			assert.Equal(t, tt.field, fe.Field, err.Error())
			require.ErrorIs(t, err, engine.ErrInvalid)
		})
	}
	t.Run("a filled field is refused before anything else, and says where its value comes from", func(t *testing.T) {
		_, err := engine.ParseDecisionInput(map[string]any{"membership": map[string]any{}, "subjekt": "x"})
		require.EqualError(t, err, "input.membership: is filled by gatehouse from the store; a caller may not set it")
		_, err = engine.ParseDecisionInput(question(map[string]any{"now_ns": json.Number("1")}))
		require.EqualError(t, err, "input.now_ns: is filled by gatehouse from the clock; a caller may not set it")
	})
}

// numberPolicy allows exactly when context.n is 2^53+1, and its reason
// echoes the value the policy saw.
func numberPolicy() map[string][]byte {
	return map[string][]byte{
		"decision.rego": []byte(`package gatehouse.decision

import rego.v1

default result := {"allow": false, "reasons": ["no context.n"]}

result := {"allow": input.context.n == 9007199254740993, "reasons": [sprintf("context.n is %v", [input.context.n])]} if {
	"n" in object.keys(input.context)
}
`),
	}
}

// Issue 7 §1: an integer above 2^53 in context reaches the policy unchanged
// when it is a json.Number, as the HTTP API and the decision log reader
// decode it.
func TestContextNumbersStayExact(t *testing.T) {
	var seen decisionRecorder
	eng := newPolicyEngine(t, numberPolicy(), engine.WithObserver(&seen))
	exact := engine.DecisionRequest{Subject: "alice", Action: "view", Resource: engine.Resource{Account: "acme"},
		Context: map[string]any{"n": json.Number("9007199254740993")}}

	d := eng.Decide(t.Context(), exact)
	assert.True(t, d.Allow, d.Reasons)
	assert.Equal(t, []string{"context.n is 9007199254740993"}, d.Reasons)

	_, x, err := eng.Explain(t.Context(), exact)
	require.NoError(t, err)
	assert.Contains(t, x.String(), "read input.context.n = 9007199254740993")

	result, err := engine.ParseDataPath("gatehouse/decision/result")
	require.NoError(t, err)
	res, err := eng.Query(t.Context(), result, exact)
	require.NoError(t, err)
	assert.Equal(t, []string{"context.n is 9007199254740993"}, res.Result.(engine.DecisionResult).Reasons)

	flips, err := eng.Replay(t.Context(), []engine.LoggedDecision{{
		DecisionID: "logged", Request: exact, Verdict: engine.Verdict{Allow: true, Reasons: d.Reasons},
	}}, eng.Policy())
	require.NoError(t, err)
	assert.Empty(t, flips, "a replayed json.Number is the number that was decided")

	rounded := exact
	rounded.Context = map[string]any{"n": float64(9007199254740993)}
	d = eng.Decide(t.Context(), rounded)
	assert.False(t, d.Allow, "a float64 has already lost the last digit: %v", d.Reasons)
	assert.Equal(t, []string{"context.n is 9.007199254740992e+15"}, d.Reasons)
}

// Issue 10 §6: a batch of queries is one decision per question, in order,
// under one batch id; a malformed question decides nothing.
func TestQueryBatchIsOneDecisionPerQuestion(t *testing.T) {
	store := openEmbedded(t)
	seedDecisionData(t, store)
	var seen decisionRecorder
	eng, err := engine.New(store, builtinPolicy(t),
		engine.WithClock(func() time.Time { return decisionNow }), engine.WithObserver(&seen),
		engine.WithDecisionTimeout(testDecisionTimeout))
	require.NoError(t, err)
	allowPath, err := engine.ParseDataPath("gatehouse/decision/allow")
	require.NoError(t, err)
	reqs := []engine.DecisionRequest{
		{Subject: "tim", Action: "use", Resource: engine.Resource{Account: "acme"}},
		{Subject: "carol", Action: "view", Resource: engine.Resource{Account: "acme"}},
	}
	res, err := eng.QueryBatch(t.Context(), allowPath, reqs)
	require.NoError(t, err)
	assert.NotEmpty(t, res.BatchDecisionID)
	require.Len(t, res.Results, 2)
	assert.Equal(t, true, res.Results[0].Result)
	assert.Equal(t, false, res.Results[1].Result)
	require.Len(t, seen.decisions, 2, "each question is a decision, observed")
	for i, r := range res.Results {
		assert.Equal(t, seen.decisions[i].DecisionID, r.DecisionID)
		assert.NotEqual(t, res.BatchDecisionID, r.DecisionID)
	}

	_, err = eng.QueryBatch(t.Context(), allowPath, append(reqs, engine.DecisionRequest{Subject: "alice", Action: "view"}))
	var fe *engine.FieldError
	require.True(t, errors.As(err, &fe), "%v", err)
	assert.Equal(t, "input.resource.account", fe.Field)
	assert.Len(t, seen.decisions, 2, "a batch with a malformed question decides nothing")
}

// The default decision's undefined document is OPA's "document undefined".
func TestDataPathUndefinedIsOPAsDocumentUndefined(t *testing.T) {
	grant, err := engine.ParseDataPath("/gatehouse/decision/result/grant/")
	require.NoError(t, err)
	assert.Equal(t, "data.gatehouse.decision.result.grant", grant.Ref())
	err = grant.Undefined()
	require.ErrorIs(t, err, engine.ErrNotFound)
	assert.EqualError(t, err, "document undefined: data.gatehouse.decision.result.grant")
}
