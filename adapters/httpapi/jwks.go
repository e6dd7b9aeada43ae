package httpapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Defaults of a KeySet (R43): how often the keys are fetched again, how
// often a token naming an unknown key may make them fetched early, how long
// fetched keys stay usable when the identity provider cannot be reached,
// how long one fetch may take and how large a key set may be.
const (
	DefaultKeySetRefreshInterval    = 15 * time.Minute
	DefaultKeySetMinRefreshInterval = 30 * time.Second
	DefaultKeySetLifetime           = 24 * time.Hour
	DefaultKeySetFetchTimeout       = 5 * time.Second
	MaxKeySetBytes                  = 1 << 20
)

// keySetAlgorithms are the algorithms a key of a key set may verify, the
// union of what each key type allows (verificationKey). HS256 and none are
// never among them: a key set holds public keys only.
var keySetAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// KeySet is the signing keys of an identity provider, read from its JSON
// Web Key Set (RFC 7517) and kept fresh (R43): fetched when it is created,
// again every refresh interval (httprc schedules it), and early when a
// token names a key id (kid) the set does not hold, at most once per
// minimum refresh interval however many such tokens arrive, so a flood of
// made-up kids cannot hammer the identity provider. When a fetch fails
// (the identity provider is down, slow beyond the fetch timeout, or
// answers an error or something that is no key set) the keys fetched last
// stay in use until the set's lifetime has passed since they were fetched;
// then, or before any fetch succeeded, every token is refused: a key set
// fails closed. Fetches have a timeout and a size limit, and log lines name
// the URL by scheme and host only. It is safe for concurrent use.
type KeySet struct {
	url   string
	shown string
	cfg   keySetConfig
	res   *httprc.ResourceBase[*keySnapshot]
	ctrl  httprc.Controller
	ctx   context.Context
	stop  context.CancelFunc

	failed     chan struct{} // closed when a fetch has failed
	failedOnce sync.Once

	mu           sync.Mutex
	lastOnDemand time.Time
	inflight     chan struct{}
}

// keySetConfig is what KeySetOptions set.
type keySetConfig struct {
	refresh    time.Duration
	minRefresh time.Duration
	lifetime   time.Duration
	timeout    time.Duration
	log        *slog.Logger
}

// KeySetOption configures a KeySet or a discovery (DiscoverKeySetURL).
type KeySetOption func(*keySetConfig)

// WithKeySetRefreshInterval sets how often the keys are fetched again
// (DefaultKeySetRefreshInterval); at least one second.
func WithKeySetRefreshInterval(d time.Duration) KeySetOption {
	return func(c *keySetConfig) { c.refresh = d }
}

// WithKeySetMinRefreshInterval sets the least time between two fetches
// made early for tokens naming an unknown kid, and between retries after a
// failed fetch (DefaultKeySetMinRefreshInterval): the bound on how often
// callers can make gatehouse ask the identity provider.
func WithKeySetMinRefreshInterval(d time.Duration) KeySetOption {
	return func(c *keySetConfig) { c.minRefresh = d }
}

// WithKeySetLifetime sets how long fetched keys stay usable when no fetch
// succeeds after them (DefaultKeySetLifetime); past it every token is
// refused until a fetch succeeds.
func WithKeySetLifetime(d time.Duration) KeySetOption {
	return func(c *keySetConfig) { c.lifetime = d }
}

// WithKeySetFetchTimeout bounds one fetch, connection, answer and body
// included (DefaultKeySetFetchTimeout).
func WithKeySetFetchTimeout(d time.Duration) KeySetOption {
	return func(c *keySetConfig) { c.timeout = d }
}

// WithKeySetLogger sets where fetch failures and successes are logged
// (slog.Default()).
func WithKeySetLogger(l *slog.Logger) KeySetOption {
	return func(c *keySetConfig) { c.log = l }
}

func newKeySetConfig(opts []KeySetOption) (keySetConfig, error) {
	c := keySetConfig{
		refresh:    DefaultKeySetRefreshInterval,
		minRefresh: DefaultKeySetMinRefreshInterval,
		lifetime:   DefaultKeySetLifetime,
		timeout:    DefaultKeySetFetchTimeout,
		log:        slog.Default(),
	}
	for _, opt := range opts {
		opt(&c)
	}
	var errs []error
	if c.refresh < time.Second {
		errs = append(errs, fmt.Errorf("the key set refresh interval must be at least 1s (it is %s)", c.refresh))
	}
	if c.minRefresh <= 0 || c.minRefresh > c.refresh {
		errs = append(errs, fmt.Errorf("the key set minimum refresh interval must be positive and at most the refresh interval %s (it is %s)", c.refresh, c.minRefresh))
	}
	if c.lifetime <= c.refresh {
		errs = append(errs, fmt.Errorf("the key set lifetime must be longer than the refresh interval %s (it is %s)", c.refresh, c.lifetime))
	}
	if c.timeout <= 0 {
		errs = append(errs, fmt.Errorf("the key set fetch timeout must be positive (it is %s)", c.timeout))
	}
	return c, errors.Join(errs...)
}

// keySnapshot is one fetched key set: its usable keys by kid (nil for a kid
// the set gives twice, which no token may use) and when it was fetched.
type keySnapshot struct {
	keys    map[string]*setKey
	fetched time.Time
}

// setKey is a public key of the set and the algorithms it may verify.
type setKey struct {
	public any
	algs   []string
}

// NewKeySet starts keeping the key set at rawURL (which CheckKeySetURL must
// accept) until ctx ends or Close is called. It waits up to the fetch
// timeout for the first fetch; when that fails the set is returned anyway,
// refuses every token and tries again (logged), so a server starts while
// its identity provider is down and recovers without a restart.
func NewKeySet(ctx context.Context, rawURL string, opts ...KeySetOption) (*KeySet, error) {
	cfg, err := newKeySetConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := CheckKeySetURL(rawURL); err != nil {
		return nil, fmt.Errorf("the JWKS URL: %w", err)
	}
	u, _ := url.Parse(rawURL)
	ctx, stop := context.WithCancel(ctx)
	k := &KeySet{url: rawURL, shown: shownURL(u), cfg: cfg, ctx: ctx, stop: stop, failed: make(chan struct{})}
	k.cfg.log = cfg.log.With("jwks", k.shown)
	client := fetchClient{k: k, cl: newFetchClient(cfg.timeout)}
	res, err := httprc.NewResource(rawURL, httprc.TransformFunc[*keySnapshot](k.transform),
		httprc.WithHTTPClient(client),
		httprc.WithConstantInterval(cfg.refresh),
		httprc.WithMinInterval(cfg.minRefresh),
		httprc.WithMaxInterval(cfg.refresh))
	if err != nil {
		stop()
		return nil, errors.New("the JWKS URL is not usable")
	}
	k.res = res
	// Two workers: an early fetch never waits behind a scheduled one.
	// httprc's errors quote the URL: they are not passed on.
	k.ctrl, err = httprc.NewClient(httprc.WithWorkers(2), httprc.WithHTTPClient(client)).Start(ctx)
	if err == nil {
		err = k.ctrl.Add(ctx, res, httprc.WithWaitReady(false))
	}
	if err != nil {
		stop()
		return nil, errors.New("could not start fetching the key set")
	}
	wait, cancel := context.WithTimeout(ctx, cfg.timeout+time.Second)
	defer cancel()
	ready := make(chan struct{})
	go func() { _ = res.Ready(wait); close(ready) }()
	select {
	case <-ready:
	case <-k.failed:
	case <-wait.Done():
	}
	if res.Resource() == nil {
		k.cfg.log.Warn("the identity provider's keys could not be fetched yet: every token is refused (401) until a fetch succeeds")
	}
	return k, nil
}

// fetchFailed notes that a fetch has failed, for NewKeySet's wait.
func (k *KeySet) fetchFailed() { k.failedOnce.Do(func() { close(k.failed) }) }

// Close stops refreshing the keys.
func (k *KeySet) Close() { k.stop() }

// fetchClient is the HTTP client httprc fetches with; it logs why a fetch
// failed, in words that never quote the URL.
type fetchClient struct {
	k  *KeySet
	cl *http.Client
}

func (f fetchClient) Do(req *http.Request) (*http.Response, error) {
	res, err := f.cl.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		defer f.k.fetchFailed()
	}
	if err != nil {
		f.k.cfg.log.Warn("fetching the identity provider's keys failed: the keys fetched last stay in use",
			"error", scrubURL(err).Error())
		return nil, errors.New("fetch failed")
	}
	if res.StatusCode != http.StatusOK {
		f.k.cfg.log.Warn("fetching the identity provider's keys failed: the keys fetched last stay in use",
			"status", res.StatusCode)
	}
	return res, nil
}

// transform turns a fetched body into a snapshot of the usable keys; an
// error keeps the previous snapshot (httprc stores only successes).
func (k *KeySet) transform(_ context.Context, res *http.Response) (*keySnapshot, error) {
	fail := func(err error) (*keySnapshot, error) {
		defer k.fetchFailed()
		k.cfg.log.Warn("the identity provider's key set was not usable: the keys fetched last stay in use", "error", err.Error())
		return nil, err
	}
	body, err := readLimited(res.Body)
	if err != nil {
		return fail(err)
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return fail(fmt.Errorf("the answer is not a JSON Web Key Set: %w", err))
	}
	snap := &keySnapshot{keys: map[string]*setKey{}, fetched: time.Now()}
	var skipped []string
	for i := range set.Len() {
		key, _ := set.Key(i)
		kid, _ := key.KeyID()
		sk, why := verificationKey(key)
		switch {
		case kid == "":
			skipped = append(skipped, "a key without kid")
		case why != "":
			skipped = append(skipped, fmt.Sprintf("key %q: %s", kid, why))
		default:
			if _, twice := snap.keys[kid]; twice {
				skipped = append(skipped, fmt.Sprintf("key %q: given twice, refused", kid))
				sk = nil
			}
			snap.keys[kid] = sk
		}
	}
	k.cfg.log.Debug("fetched the identity provider's keys", "keys", len(snap.keys), "skipped", len(skipped))
	if len(skipped) > 0 {
		k.cfg.log.Warn("keys of the identity provider's key set are not used", "why", strings.Join(skipped, "; "))
	}
	return snap, nil
}

// verificationKey returns the public key of a JWK and the algorithms it
// may verify, from its type (and curve) and, when the JWK names one, its
// alg; or a reason not to use it.
func verificationKey(key jwk.Key) (*setKey, string) {
	if use, ok := key.KeyUsage(); ok && use != "sig" {
		return nil, fmt.Sprintf("its use is %q, not sig", use)
	}
	var raw any
	if err := jwk.Export(key, &raw); err != nil {
		return nil, "it is not a valid key"
	}
	var algs []string
	switch pub := raw.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return nil, fmt.Sprintf("an RSA key needs at least 2048 bits (it has %d)", pub.N.BitLen())
		}
		algs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			algs = []string{"ES256"}
		case elliptic.P384():
			algs = []string{"ES384"}
		case elliptic.P521():
			algs = []string{"ES512"}
		default:
			return nil, "its curve is not P-256, P-384 or P-521"
		}
	case ed25519.PublicKey:
		algs = []string{"EdDSA"}
	default:
		return nil, fmt.Sprintf("it is not a public signing key (RSA, EC or Ed25519) but of type %s", key.KeyType())
	}
	if alg, ok := key.Algorithm(); ok {
		if !slices.Contains(algs, alg.String()) {
			return nil, fmt.Sprintf("its alg %q does not fit its key type", alg.String())
		}
		algs = []string{alg.String()}
	}
	return &setKey{public: raw, algs: algs}, ""
}

// Errors of a key set lookup, said to the caller in a 401 (R43). They never
// quote the token (its kid included).
var (
	errNoKid            = errors.New("the token's header names no key (kid): this server verifies tokens with the identity provider's key set")
	errUnknownKid       = errors.New("the token's key (kid) is not in the identity provider's key set")
	errAmbiguousKid     = errors.New("the token's key (kid) is given twice in the identity provider's key set")
	errKeysNotFetched   = errors.New("the identity provider's keys could not be fetched: no token can be verified now")
	errKeysOutOfService = errors.New("the identity provider's keys could not be refreshed within their lifetime: no token can be verified now")
)

// keyError is a lookup error; explain passes it on as it is.
type keyError struct{ err error }

func (e *keyError) Error() string { return e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

// key returns the key a token's kid names, after checking that the
// token's algorithm alg is one that key allows: an HS256 token never meets
// an RSA key, nor an RS256 one an EC key. An unknown kid, or no usable
// keys, makes the set fetched early (refreshEarly) and looked up again.
func (k *KeySet) key(kid, alg string) (any, error) {
	if kid == "" {
		return nil, &keyError{errNoKid}
	}
	key, err := k.lookup(kid)
	if errors.Is(err, errUnknownKid) || errors.Is(err, errKeysNotFetched) || errors.Is(err, errKeysOutOfService) {
		k.refreshEarly()
		key, err = k.lookup(kid)
	}
	if err != nil {
		return nil, &keyError{err}
	}
	if !slices.Contains(key.algs, alg) {
		return nil, &keyError{fmt.Errorf("the token's algorithm is not one its key allows (%s)", strings.Join(key.algs, ", "))}
	}
	return key.public, nil
}

// lookup finds kid in the keys fetched last, if they are still in their
// lifetime.
func (k *KeySet) lookup(kid string) (*setKey, error) {
	snap := k.res.Resource()
	switch {
	case snap == nil:
		return nil, errKeysNotFetched
	case time.Since(snap.fetched) > k.cfg.lifetime:
		return nil, errKeysOutOfService
	}
	key, ok := snap.keys[kid]
	switch {
	case !ok:
		return nil, errUnknownKid
	case key == nil:
		return nil, errAmbiguousKid
	}
	return key, nil
}

// refreshEarly fetches the key set now, unless an early fetch started less
// than the minimum refresh interval ago; callers arriving while one is
// under way wait for it (at most the fetch timeout) rather than start
// another. So however many tokens name unknown kids, the identity provider
// sees at most one early fetch per minimum refresh interval.
func (k *KeySet) refreshEarly() {
	k.mu.Lock()
	if ch := k.inflight; ch != nil {
		k.mu.Unlock()
		select {
		case <-ch:
		case <-k.ctx.Done():
		}
		return
	}
	now := time.Now()
	if !k.lastOnDemand.IsZero() && now.Sub(k.lastOnDemand) < k.cfg.minRefresh {
		k.mu.Unlock()
		return
	}
	k.lastOnDemand = now
	ch := make(chan struct{})
	k.inflight = ch
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.inflight = nil
		k.mu.Unlock()
		close(ch)
	}()
	ctx, cancel := context.WithTimeout(k.ctx, k.cfg.timeout+time.Second)
	defer cancel()
	if err := k.ctrl.Refresh(ctx, k.url); err == nil {
		k.cfg.log.Info("fetched the identity provider's keys early for a token naming a key not in the set")
	}
}
