package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"math"
	"sort"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// decisionCache remembers policy answers so that a question asked again
// about unchanged state skips the policy evaluation. It is exact: the key is
// a SHA-256 of the policy revision, the question and every field of the
// snapshot the policy sees, and an entry holds only between the snapshot's
// expiry instants on either side of the time it was computed (R7), so no
// change of data, policy or clock can be answered from a stale entry. The
// store is still read for every decision.
type decisionCache struct {
	entries *lru.Cache[[sha256.Size]byte, cachedAnswer]
	writers sync.Pool
}

// cachedAnswer is a policy answer and the interval of time it holds for.
type cachedAnswer struct {
	allow   bool
	reasons []string
	grant   *DecisionGrant
	// from and until bound, in Unix nanoseconds, the instants for which no
	// expiry of the snapshot falls between them and the computation.
	from, until int64
}

func newDecisionCache(size int) *decisionCache {
	entries, err := lru.New[[sha256.Size]byte, cachedAnswer](size)
	if err != nil {
		return nil // size <= 0: no cache
	}
	return &decisionCache{
		entries: entries,
		writers: sync.Pool{New: func() any { return &keyWriter{} }},
	}
}

// key returns the cache key of a question on a snapshot under a revision, and
// false when the question cannot be cached (it carries a context).
func (c *decisionCache) key(revision string, req DecisionRequest, s Snapshot) ([sha256.Size]byte, bool) {
	var sum [sha256.Size]byte
	if len(req.Context) > 0 {
		return sum, false
	}
	w := c.writers.Get().(*keyWriter)
	defer c.writers.Put(w)
	w.buf = w.buf[:0]
	w.str(revision)
	w.str(req.Subject)
	w.str(req.Action)
	w.str(req.Resource.Account)
	w.str(req.Resource.VirtualAccount)
	w.str(req.Caller)
	w.snapshot(s)
	return sha256.Sum256(w.buf), true
}

// get returns the cached answer for key at now.
func (c *decisionCache) get(key [sha256.Size]byte, now time.Time) (cachedAnswer, bool) {
	a, ok := c.entries.Get(key)
	if !ok {
		return a, false
	}
	t := now.UnixNano()
	return a, a.from <= t && t < a.until
}

// put remembers an answer computed at now on snapshot s.
func (c *decisionCache) put(key [sha256.Size]byte, now time.Time, s Snapshot, d Decision) {
	from, until := validity(s, now.UnixNano())
	c.entries.Add(key, cachedAnswer{allow: d.Allow, reasons: d.Reasons, grant: d.Grant, from: from, until: until})
}

// validity returns the interval around t that contains no expiry instant of
// the snapshot: an expiry at or before t starts it, the first after t ends it.
func validity(s Snapshot, t int64) (from, until int64) {
	from, until = math.MinInt64, math.MaxInt64
	see := func(at *time.Time) {
		if at == nil {
			return
		}
		switch e := at.UnixNano(); {
		case e <= t:
			from = max(from, e)
		default:
			until = min(until, e)
		}
	}
	for _, m := range []*Membership{s.Membership, s.PartnerMembership} {
		if m != nil {
			see(m.ExpiresAt)
		}
	}
	for _, g := range s.TenantGrants {
		see(g.ExpiresAt)
	}
	return from, until
}

// keyWriter encodes values unambiguously into a reusable buffer: every
// string is length-prefixed, every optional part is marked present or
// absent, and maps are written in key order.
type keyWriter struct {
	buf  []byte
	keys []string
}

func (w *keyWriter) int(n int64) { w.buf = binary.AppendVarint(w.buf, n) }

func (w *keyWriter) str(s string) {
	w.int(int64(len(s)))
	w.buf = append(w.buf, s...)
}

func (w *keyWriter) present(ok bool) {
	if ok {
		w.int(1)
	} else {
		w.int(0)
	}
}

func (w *keyWriter) strs(ss []string) {
	w.int(int64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}

func (w *keyWriter) strMap(m map[string]string) {
	w.int(int64(len(m)))
	w.keys = w.keys[:0]
	for k := range m {
		w.keys = append(w.keys, k)
	}
	sort.Strings(w.keys)
	for _, k := range w.keys {
		w.str(k)
		w.str(m[k])
	}
}

func (w *keyWriter) time(t *time.Time) {
	w.present(t != nil)
	if t != nil {
		w.int(t.UnixNano())
	}
}

func (w *keyWriter) snapshot(s Snapshot) {
	w.present(s.User != nil)
	if u := s.User; u != nil {
		for _, f := range []string{u.ID, u.Email, u.FirstName, u.LastName, u.Organization} {
			w.str(f)
		}
	}
	w.present(s.Account != nil)
	if a := s.Account; a != nil {
		w.str(a.ID)
		w.str(a.Name)
		w.strs(a.VirtualAccounts)
		w.str(a.Partner)
		w.present(len(a.Settings) > 0)
		if len(a.Settings) > 0 {
			// encoding/json writes map keys in sorted order: canonical.
			b, err := json.Marshal(a.Settings)
			if err != nil {
				b = []byte(err.Error())
			}
			w.str(string(b))
		}
	}
	for _, m := range []*Membership{s.Membership, s.PartnerMembership} {
		w.present(m != nil)
		if m == nil {
			continue
		}
		w.strs(m.Roles)
		w.strMap(m.VARoles)
		w.str(m.Contact)
		w.strMap(m.Privileges)
		w.str(m.AddedBy)
		w.str(m.Request)
		w.time(m.ExpiresAt)
	}
	w.present(s.TenantExclusive)
	w.int(int64(len(s.TenantGrants)))
	for _, g := range s.TenantGrants {
		w.str(g.Request)
		w.str(g.GrantedBy)
		w.time(g.ExpiresAt)
	}
}

// cacheDecisions reports whether the policy data allows its decisions to be
// cached: data.gatehouse.config.decision_cache is true.
func cacheDecisions(data map[string]any) bool {
	v, ok := lookupPath(data, "gatehouse", "config", "decision_cache")
	b, isBool := v.(bool)
	return ok && isBool && b
}

func lookupPath(data map[string]any, path ...string) (any, bool) {
	var cur any = data
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}
