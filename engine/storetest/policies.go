package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// watchWait bounds how long the suite waits for a watched activation.
const watchWait = 5 * time.Second

// newRevision is a revision created the given minutes after base, with two
// files: one text, one holding every byte value.
func newRevision(id string, created int) engine.PolicyRevision {
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	return engine.PolicyRevision{
		Revision: id,
		Files: map[string][]byte{
			"roles/roles.rego": []byte("package roles\n\nimport rego.v1\n\ndefault allow := false # " + id + "\n"),
			"data/blob.bin":    binary,
		},
		Author:    "security@example.com",
		CreatedAt: at(created),
		Source:    "policies/",
	}
}

// normPolicy compares files as strings, so that byte-exact contents match
// whether an empty file comes back nil or empty.
func normPolicy(r engine.PolicyRevision) map[string]any {
	files := make(map[string]string, len(r.Files))
	for name, content := range r.Files {
		files[name] = string(content)
	}
	return map[string]any{
		"revision": r.Revision, "files": files, "author": r.Author,
		"created_at": r.CreatedAt.UTC(), "source": r.Source,
	}
}

// revisionIDs lists the revisions' ids in order.
func revisionIDs(revs []engine.PolicyRevision) []string {
	ids := make([]string, 0, len(revs))
	for _, r := range revs {
		ids = append(ids, r.Revision)
	}
	return ids
}

// testPolicyRevisions: pushed revisions round-trip byte for byte, a second
// save of a revision keeps the first, and listings are newest first without
// files (issue 4: policy push, policy list).
func testPolicyRevisions(t *testing.T, s engine.Store) {
	ctx := t.Context()
	r1, r2, r3 := newRevision("rev-1", 1), newRevision("rev-2", 2), newRevision("rev-3", 2)
	r2.Files["empty.rego"] = []byte{}
	r3.Source = ""
	saved := map[string]engine.PolicyRevision{}
	for _, r := range []engine.PolicyRevision{r2, r1, r3} {
		require.NoError(t, s.SavePolicy(ctx, r))
		saved[r.Revision] = r
	}

	for _, want := range []engine.PolicyRevision{r1, r2, r3} {
		t.Run("get "+want.Revision, func(t *testing.T) {
			got, err := s.GetPolicy(t.Context(), want.Revision)
			require.NoError(t, err)
			assert.Equal(t, normPolicy(want), normPolicy(got))
		})
	}

	t.Run("saving a revision again keeps the first save", func(t *testing.T) {
		again := newRevision("rev-1", 9)
		again.Author = "someone-else@example.com"
		require.NoError(t, s.SavePolicy(t.Context(), again))
		got, err := s.GetPolicy(t.Context(), "rev-1")
		require.NoError(t, err)
		assert.Equal(t, normPolicy(r1), normPolicy(got))
	})

	lists := []struct {
		name  string
		limit int
		want  []string
	}{
		{"all, newest first, equal instants by revision descending", 0, []string{"rev-3", "rev-2", "rev-1"}},
		{"limited", 2, []string{"rev-3", "rev-2"}},
		{"limit above the count", 10, []string{"rev-3", "rev-2", "rev-1"}},
	}
	for _, tc := range lists {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListPolicies(t.Context(), tc.limit)
			require.NoError(t, err)
			assert.Equal(t, tc.want, revisionIDs(got))
			for _, r := range got {
				assert.Empty(t, r.Files, "files of %s in a listing", r.Revision)
				want := saved[r.Revision]
				want.Files = nil
				assert.Equal(t, normPolicy(want), normPolicy(r))
			}
		})
	}

	t.Run("unknown revision", func(t *testing.T) {
		_, err := s.GetPolicy(t.Context(), "rev-missing")
		require.ErrorIs(t, err, engine.ErrNotFound)
	})
	t.Run("revision without id", func(t *testing.T) {
		require.ErrorIs(t, s.SavePolicy(t.Context(), newRevision("", 3)), engine.ErrInvalid)
	})
}

// testPoliciesEmpty: a store without revisions lists none and has no active
// one.
func testPoliciesEmpty(t *testing.T, s engine.Store) {
	listed, err := s.ListPolicies(t.Context(), 0)
	require.NoError(t, err)
	assert.Empty(t, listed)
	_, err = s.ActivePolicy(t.Context())
	require.ErrorIs(t, err, engine.ErrNotFound)
}

// testPolicyActivation: the latest activation of a saved revision is the
// active one, a rollback reactivates an older revision, and an unknown
// revision is refused without changing anything (issue 4: policy rollback).
func testPolicyActivation(t *testing.T, s engine.Store) {
	ctx := t.Context()
	require.NoError(t, s.SavePolicy(ctx, newRevision("rev-1", 1)))
	require.NoError(t, s.SavePolicy(ctx, newRevision("rev-2", 2)))

	steps := []engine.PolicyActivation{
		{Revision: "rev-1", ActivatedBy: "alice", ActivatedAt: at(3)},
		{Revision: "rev-2", ActivatedBy: "bob", ActivatedAt: at(4)},
		{Revision: "rev-1", ActivatedBy: "carol", ActivatedAt: at(5)},
	}
	for _, step := range steps {
		require.NoError(t, s.ActivatePolicy(ctx, step))
		got, err := s.ActivePolicy(ctx)
		require.NoError(t, err)
		assert.Equal(t, normActivation(step), normActivation(got))
	}

	refused := []struct {
		name       string
		activation engine.PolicyActivation
		want       error
	}{
		{"unknown revision", engine.PolicyActivation{Revision: "rev-missing", ActivatedBy: "mallory", ActivatedAt: at(6)}, engine.ErrNotFound},
		{"empty revision", engine.PolicyActivation{ActivatedBy: "mallory", ActivatedAt: at(6)}, engine.ErrInvalid},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, s.ActivatePolicy(t.Context(), tc.activation), tc.want)
			got, err := s.ActivePolicy(t.Context())
			require.NoError(t, err)
			assert.Equal(t, normActivation(steps[2]), normActivation(got))
		})
	}
}

// testWatchPolicy: every watcher receives each activation in order, an
// unknown revision is not announced, and a watch ends with its context.
func testWatchPolicy(t *testing.T, s engine.Store) {
	require.NoError(t, s.SavePolicy(t.Context(), newRevision("rev-1", 1)))
	require.NoError(t, s.SavePolicy(t.Context(), newRevision("rev-2", 2)))
	ctx, cancel := context.WithCancel(t.Context())
	first, err := s.WatchPolicy(ctx)
	require.NoError(t, err)
	second, err := s.WatchPolicy(ctx)
	require.NoError(t, err)

	activations := []engine.PolicyActivation{
		{Revision: "rev-1", ActivatedBy: "alice", ActivatedAt: at(3)},
		{Revision: "rev-2", ActivatedBy: "bob", ActivatedAt: at(4)},
	}
	require.NoError(t, s.ActivatePolicy(t.Context(), activations[0]))
	require.ErrorIs(t, s.ActivatePolicy(t.Context(), engine.PolicyActivation{Revision: "rev-missing"}), engine.ErrNotFound)
	require.NoError(t, s.ActivatePolicy(t.Context(), activations[1]))

	for name, ch := range map[string]<-chan engine.PolicyActivation{"first": first, "second": second} {
		t.Run(name+" watcher", func(t *testing.T) {
			for _, want := range activations {
				got := receive(t, ch)
				assert.Equal(t, normActivation(want), normActivation(got))
			}
		})
	}

	cancel()
	for _, ch := range []<-chan engine.PolicyActivation{first, second} {
		assertClosed(t, ch)
	}
}

// receive waits, at most watchWait, for the next activation on ch.
func receive(tb testing.TB, ch <-chan engine.PolicyActivation) engine.PolicyActivation {
	tb.Helper()
	select {
	case a, ok := <-ch:
		require.True(tb, ok, "the watch channel closed early")
		return a
	case <-time.After(watchWait):
		require.FailNow(tb, "no activation delivered", "waited %s", watchWait)
		return engine.PolicyActivation{}
	}
}

// assertClosed waits, at most watchWait, for ch to be closed, draining it.
func assertClosed(tb testing.TB, ch <-chan engine.PolicyActivation) {
	tb.Helper()
	deadline := time.After(watchWait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			assert.Fail(tb, "the watch channel stayed open after its context ended")
			return
		}
	}
}

func normActivation(a engine.PolicyActivation) engine.PolicyActivation {
	a.ActivatedAt = a.ActivatedAt.UTC()
	return a
}
