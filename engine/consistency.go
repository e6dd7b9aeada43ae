package engine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strings"
)

// Token is a consistency token: the state one write left behind, named by
// the versions of the accounts it was decided on (AccountState.Version),
// so that a decision carrying it is made on state at least that fresh, on
// any replica (read-your-writes). A write answers one (see WithWrites); a
// decision asks for one with DecisionRequest.AtLeast.
//
// Its text (String, ParseToken) is opaque to callers: base64url, without
// padding, of a versioned JSON document {"v":1,"a":{account: version}}.
// A Token with no versions is the token of a write that changed no
// account (a user's record): a decision carrying it reads around any
// cache of the store.
type Token struct {
	// Versions maps an account to the version it is at least at.
	Versions map[string]uint64
}

// Limits of a token's text, so that a decision's input stays small.
const (
	// MaxTokenAccounts is the most accounts a token names.
	MaxTokenAccounts = 256
	// MaxTokenLength is the longest token text, in bytes.
	MaxTokenLength = 16 << 10
)

// tokenVersion is the format of a token's text.
const tokenVersion = 1

// tokenDoc is the JSON inside a token's text.
type tokenDoc struct {
	V int               `json:"v"`
	A map[string]uint64 `json:"a"`
}

// String returns the token's text: base64url of {"v":1,"a":{...}}, with
// the accounts in byte order, so that equal tokens have equal text.
func (t Token) String() string {
	// A map of strings to integers always marshals.
	b, _ := json.Marshal(tokenDoc{V: tokenVersion, A: t.nonNil()})
	return base64.RawURLEncoding.EncodeToString(b)
}

func (t Token) nonNil() map[string]uint64 {
	if t.Versions == nil {
		return map[string]uint64{}
	}
	return t.Versions
}

// ParseToken reads a token's text (String). Anything else, a token longer
// than MaxTokenLength, naming more than MaxTokenAccounts accounts, an
// account that is not a valid id or a version of 0, is a *FieldError
// naming field (R44).
func ParseToken(field, text string) (Token, error) {
	const shape = "must be a consistency token, as a write answers it"
	if text == "" {
		return Token{}, Invalid(field, "is empty: it "+shape)
	}
	if len(text) > MaxTokenLength {
		return Token{}, Invalid(field, "is longer than %d bytes: it %s", MaxTokenLength, shape)
	}
	raw, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil {
		return Token{}, Invalid(field, "is not base64url: it "+shape)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var doc tokenDoc
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return Token{}, Invalid(field, "does not read as a token: it "+shape)
	}
	switch {
	case doc.V != tokenVersion:
		return Token{}, Invalid(field, "is of format %d; this gatehouse reads format %d: it %s", doc.V, tokenVersion, shape)
	case doc.A == nil:
		return Token{}, Invalid(field, "names no versions: it "+shape)
	case len(doc.A) > MaxTokenAccounts:
		return Token{}, Invalid(field, "names %d accounts, at most %d are allowed", len(doc.A), MaxTokenAccounts)
	}
	for _, account := range slices.Sorted(maps.Keys(doc.A)) {
		if !ValidID(account) || doc.A[account] == 0 {
			return Token{}, Invalid(field, "names an account or version that no write answers: it "+shape)
		}
	}
	return Token{Versions: doc.A}, nil
}

// tokenOf returns the token of change once committed: each account of
// Versions at the version after it, each of ReadVersions at the version it
// was read at (0, an account never written, is left out).
func tokenOf(change Change) Token {
	t := Token{Versions: make(map[string]uint64, len(change.Versions)+len(change.ReadVersions))}
	for account, v := range change.ReadVersions {
		if v > 0 {
			t.Versions[account] = v
		}
	}
	for account, v := range change.Versions {
		t.Versions[account] = v + 1
	}
	return t
}

// Writes collects the consistency token of a command run with it in its
// context (WithWrites): the token of the change it committed. It serves
// one call; it is not safe for concurrent use.
type Writes struct {
	decided   *Token
	committed *Token
}

// Token returns the token of the committed change, and false when the
// command committed nothing (it failed, or was replayed from an
// Idempotency record: the record keeps the first answer's token).
func (w *Writes) Token() (Token, bool) {
	if w.committed == nil {
		return Token{}, false
	}
	return *w.committed, true
}

// Decided returns the token the change being committed will have once it
// is: set before an Idempotency answer is asked for, so that the answer
// kept can carry it.
func (w *Writes) Decided() (Token, bool) {
	if w.decided == nil {
		return Token{}, false
	}
	return *w.decided, true
}

type writesKey struct{}

// WithWrites returns ctx carrying w: a command run with it records in w
// the token of the change it commits.
func WithWrites(ctx context.Context, w *Writes) context.Context {
	return context.WithValue(ctx, writesKey{}, w)
}

func writesFrom(ctx context.Context) *Writes {
	w, _ := ctx.Value(writesKey{}).(*Writes)
	return w
}
