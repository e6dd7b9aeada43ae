// Package storetest is the conformance suite every engine.Store passes.
//
// An adapter's test calls Run with a constructor that returns a fresh, empty
// store for each subtest:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(tb testing.TB) engine.Store {
//			s, err := embedded.Open(tb.TempDir())
//			require.NoError(tb, err)
//			tb.Cleanup(func() { _ = s.Close() })
//			return s
//		})
//	}
//
// The suite pins down the semantics the engine relies on and that the Store
// interface documents: exact round trips, snapshots read by key, atomic and
// versioned commits under concurrency (R11, R25, R40), newest-first request
// listings (R39a), append-only audit and event logs with opaque cursors (R41,
// R42), the expiry index (R7, R38), pushed policy revisions and their
// activation, watched by every replica (issue 4), and the leases and
// cursors that let one replica at a time run a background worker. It never
// sleeps: it waits for watched activations and expiring leases with bounded
// polls, and it assumes nothing about how a store lays out its data or
// formats its cursors.
package storetest
