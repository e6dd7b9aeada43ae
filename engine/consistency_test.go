package engine_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// A token's text reads back as the token; anything else is a 400-style
// *FieldError naming the field (R44).
func TestParseToken(t *testing.T) {
	tok := engine.Token{Versions: map[string]uint64{"acme": 7, "beta.co": 1}}
	got, err := engine.ParseToken("consistency.at_least", tok.String())
	require.NoError(t, err)
	assert.Equal(t, tok, got)
	assert.Equal(t, tok.String(), got.String(), "equal tokens, equal text")

	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	many := make([]string, engine.MaxTokenAccounts+1)
	for i := range many {
		many[i] = `"a` + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + `-` + string(rune('a'+i/26%26)) + `":1`
	}
	tests := []struct{ name, text, message string }{
		{"empty", "", "is empty"},
		{"not base64url", "!!!", "is not base64url"},
		{"padded", b64(`{"v":1,"a":{}}`) + "==", "is not base64url"},
		{"not JSON", b64("acme=7"), "does not read as a token"},
		{"an unknown field", b64(`{"v":1,"a":{},"x":1}`), "does not read as a token"},
		{"trailing data", b64(`{"v":1,"a":{}}{}`), "does not read as a token"},
		{"another format", b64(`{"v":2,"a":{}}`), "is of format 2"},
		{"no versions", b64(`{"v":1}`), "names no versions"},
		{"a bad account", b64(`{"v":1,"a":{"a b":1}}`), "names an account or version"},
		{"a version 0", b64(`{"v":1,"a":{"acme":0}}`), "names an account or version"},
		{"a negative version", b64(`{"v":1,"a":{"acme":-1}}`), "does not read as a token"},
		{"too many accounts", b64(`{"v":1,"a":{` + strings.Join(many, ",") + `}}`), "accounts, at most"},
		{"too long", strings.Repeat("A", engine.MaxTokenLength+1), "is longer than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := engine.ParseToken("consistency.at_least", tc.text)
			var fe *engine.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "consistency.at_least", fe.Field)
			assert.Contains(t, fe.Message, tc.message)
			require.ErrorIs(t, err, engine.ErrInvalid)
		})
	}
}

// A command run with Writes records the token of its change: the
// account's version after it. A decision carrying the token of a
// revocation denies, on every store; a replayed idempotent command
// records none (its kept answer has the first one).
func TestWritesAnswerTokens(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(nil)
		ask := engine.DecisionRequest{Subject: "vera", Action: "view", Resource: engine.Resource{Account: "acme"}}
		require.True(t, w.e.Decide(w.ctx, ask).Allow)

		var writes engine.Writes
		ctx := engine.WithWrites(w.ctx, &writes)
		require.NoError(t, w.e.RemoveMember(ctx, "alice", "acme", "vera"))
		tok, ok := writes.Token()
		require.True(t, ok)
		state, err := w.e.Store().AccountState(w.ctx, "acme")
		require.NoError(t, err)
		assert.Equal(t, map[string]uint64{"acme": state.Version}, tok.Versions)

		ask.AtLeast = &tok
		d := w.e.Decide(w.ctx, ask)
		assert.False(t, d.Allow, "decided on the revocation: %v", d.Reasons)
		assert.Empty(t, d.Error)

		ahead := engine.Token{Versions: map[string]uint64{"acme": state.Version + 1}}
		ask.AtLeast = &ahead
		d = w.e.Decide(w.ctx, ask)
		assert.False(t, d.Allow)
		assert.Equal(t, "store_unavailable", d.Error, "a state the store never reached fails closed")

		var again engine.Writes
		idem := &engine.Idempotency{Key: "k1", Fingerprint: "f", Answer: func(any) ([]byte, error) { return []byte("{}"), nil }}
		ictx := engine.WithWrites(engine.WithIdempotency(context.Background(), idem), &again)
		_, err = w.e.SetMember(ictx, "alice", engine.Membership{Account: "acme", User: "vera", Roles: []string{"account_viewer"}, Justification: "back"})
		require.NoError(t, err)
		_, ok = again.Token()
		require.True(t, ok)
		var replay engine.Writes
		idem = &engine.Idempotency{Key: "k1", Fingerprint: "f", Answer: idem.Answer}
		ictx = engine.WithWrites(engine.WithIdempotency(context.Background(), idem), &replay)
		_, err = w.e.SetMember(ictx, "alice", engine.Membership{Account: "acme", User: "vera", Roles: []string{"account_viewer"}, Justification: "back"})
		require.NoError(t, err)
		_, replayed := idem.Result()
		require.True(t, replayed)
		_, ok = replay.Token()
		assert.False(t, ok, "a replay commits nothing")
	})
}
