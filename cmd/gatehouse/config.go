package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/tracing"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/spf13/pflag"
)

// Config is gatehouse's one configuration: flags, each also read from
// GATEHOUSE_<FLAG> (API.md "Running").
type Config struct {
	Addr      string
	GRPCAddr  string // Envoy external authorization; "" serves none
	Store     string
	DataDir   string
	RedisURL  string
	PolicyDir string

	// StoreWriteTimeout bounds one command (its reads, policy and commit,
	// retries included) and each store write; StoreReadTimeout bounds each
	// store read and /ready's check of the store (R45).
	StoreWriteTimeout time.Duration
	StoreReadTimeout  time.Duration

	// RedisMinReplicasAck is how many replicas must acknowledge each commit
	// (Redis WAIT) before it is answered, within RedisMinReplicasAckTimeout;
	// 0 waits for none (issue 11: durable acknowledgements on failover).
	RedisMinReplicasAck        int
	RedisMinReplicasAckTimeout time.Duration

	JWTSecretFile    string
	JWTPublicKeyFile string
	JWTAudience      string
	JWTIssuer        string
	JWTLeeway        time.Duration
	SystemAdmins     []string

	// JWTJWKSURL is an identity provider's key set (R43); with none, no key
	// file and no secret, --jwt-issuer's OpenID configuration names it.
	JWTJWKSURL        string
	JWTJWKSRefresh    time.Duration
	JWTJWKSMinRefresh time.Duration
	JWTJWKSLifetime   time.Duration
	JWTSubjectClaim   string

	WebhookURLs       []string
	WebhookSecretFile string

	// ConsoleOIDC signs users in to the console with the identity provider
	// of --jwt-issuer (issue 12); all empty: no such sign-in.
	ConsoleOIDC ConsoleOIDCConfig

	DecisionLog     []string
	DecisionLogMask []string

	// DefaultDecision is the Data API entry point POST / answers (OPA's
	// default decision, its --set=default_decision).
	DefaultDecision string
	// OTelEndpoint is the OTLP/gRPC collector traces go to (HOST:PORT);
	// empty: no tracing. OTelInsecure sends them in plaintext.
	OTelEndpoint string
	OTelInsecure bool

	ExpirySweep     time.Duration
	DecisionCache   int
	DecisionTimeout time.Duration
	// CacheMaxBytes bounds serve's client-side cache of the records
	// decisions read from Redis; 0: no cache.
	CacheMaxBytes int64
	// Evaluator is how decisions evaluate the policy: plan or topdown
	// (engine.Evaluator).
	Evaluator engine.Evaluator

	// HTTP bounds the phases of a request and the open connections.
	HTTP HTTPConfig
	// TLS names the listeners' certificate, key and client CA files.
	TLS TLSConfig
	// DecisionAuth says how decision callers authenticate:
	// none, token or client-cert (httpapi.DecisionAuth).
	DecisionAuth string

	// Console configures the admin console served at /console/ (issue 12).
	Console ConsoleConfig

	// Server and Token make the client commands talk to a running gatehouse.
	Server string
	Token  string
}

// DefaultConfig returns the defaults of API.md.
func DefaultConfig() *Config {
	return &Config{
		Addr:            "127.0.0.1:8280",
		Store:           "embedded",
		DataDir:         "./gatehouse-data",
		RedisURL:        "redis://127.0.0.1:6379/0",
		ExpirySweep:     5 * time.Second,
		DecisionCache:   100_000,
		CacheMaxBytes:   64 << 20,
		DecisionTimeout: engine.DefaultDecisionTimeout,
		Evaluator:       engine.DefaultEvaluator,
		JWTLeeway:       httpapi.DefaultJWTLeeway,
		Server:          "http://127.0.0.1:8280",
		HTTP:            DefaultHTTPConfig(),
		DefaultDecision: httpapi.DefaultDecisionPath,
		DecisionAuth:    string(httpapi.DecisionAuthNone),

		StoreWriteTimeout: time.Second,
		StoreReadTimeout:  time.Second,

		RedisMinReplicasAckTimeout: redisstore.DefaultMinReplicasAckTimeout,

		JWTSubjectClaim:   httpapi.DefaultSubjectClaim,
		JWTJWKSRefresh:    httpapi.DefaultKeySetRefreshInterval,
		JWTJWKSMinRefresh: httpapi.DefaultKeySetMinRefreshInterval,
		JWTJWKSLifetime:   httpapi.DefaultKeySetLifetime,
	}
}

// The bind methods each bind one group of configuration flags; commands
// take the groups they use through configFlags (root.go).

func (c *Config) bindStoreFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Store, "store", c.Store, "where state lives: embedded or redis")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "where the embedded store keeps its files")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "Redis to use with --store redis: redis://, rediss://, unix://, redis+sentinel://...?master_name=NAME or redis+cluster://host:port?addr=host2:port2 (Redis Cluster)")
	fs.DurationVar(&c.StoreWriteTimeout, "store-write-timeout", c.StoreWriteTimeout,
		"longest a write command may take, all its store reads, policy checks, commit and retries included; then 503 (R45)")
	fs.DurationVar(&c.StoreReadTimeout, "store-read-timeout", c.StoreReadTimeout,
		"longest one store read may take, Redis retries included, and /ready's check of the store; then 503 (R45)")
	fs.IntVar(&c.RedisMinReplicasAck, "redis-min-replicas-ack", c.RedisMinReplicasAck,
		"replicas that must acknowledge each commit (Redis WAIT) before it is answered, so that a failover loses no acknowledged write; "+
			"fewer within --redis-min-replicas-ack-timeout: 503 outcome_unknown (0: answer at once, a failover may lose the last writes)")
	fs.DurationVar(&c.RedisMinReplicasAckTimeout, "redis-min-replicas-ack-timeout", c.RedisMinReplicasAckTimeout,
		"longest a commit waits for --redis-min-replicas-ack acknowledgements; less than --store-write-timeout")
}

// bindDecisionFlags binds what bounds a decision, for the commands that
// decide: serve, and decide and policy replay offline.
func (c *Config) bindDecisionFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&c.DecisionTimeout, "decision-timeout", c.DecisionTimeout, "deadline of one decision, store read and policy evaluation included; past it the decision is a deny (error timeout)")
	fs.Var((*evaluatorFlag)(&c.Evaluator), "evaluator",
		"how decisions evaluate the policy: plan (OPA's compiled plan of the Rego, run by gatehouse; a revision it cannot run falls back to topdown) or topdown (OPA's evaluator); see POLICIES.md")
}

// evaluatorFlag is --evaluator: refused at parse time unless it names an
// engine.Evaluator.
type evaluatorFlag engine.Evaluator

func (f *evaluatorFlag) String() string { return string(*f) }

// Set implements pflag.Value.
func (f *evaluatorFlag) Set(s string) error {
	ev, err := engine.ParseEvaluator(s)
	if err != nil {
		return err
	}
	*f = evaluatorFlag(ev)
	return nil
}

// Type implements pflag.Value.
func (f *evaluatorFlag) Type() string { return "string" }

func (c *Config) bindPolicyDirFlag(fs *pflag.FlagSet) {
	fs.StringVar(&c.PolicyDir, "policy-dir", c.PolicyDir, "Rego to load instead of the built-in policies")
}

func (c *Config) bindServeFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address: host:port, or unix:///path/to/gatehouse.sock for a Unix socket (mode 0660, removed on exit)")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", c.GRPCAddr, "listen address (HOST:PORT) of the gRPC server for Envoy and Istio: external authorization (envoy.service.auth.v3) and gRPC health; empty: none")
	c.bindJWTFlags(fs)
	fs.DurationVar(&c.JWTLeeway, "jwt-leeway", c.JWTLeeway, "clock skew tolerated on a token's exp, nbf and iat (at most 5m)")
	fs.StringSliceVar(&c.SystemAdmins, "system-admins", c.SystemAdmins, "subjects allowed every directory and member operation (R32)")
	fs.StringArrayVar(&c.WebhookURLs, "webhook-url", c.WebhookURLs, "where events are delivered (repeatable)")
	fs.StringVar(&c.WebhookSecretFile, "webhook-secret-file", c.WebhookSecretFile, "file holding the HMAC secret that signs webhook deliveries")
	fs.StringSliceVar(&c.DecisionLog, "decision-log", c.DecisionLog, "where to write decision logs: stdout and/or a file path")
	fs.StringSliceVar(&c.DecisionLogMask, "decision-log-mask", c.DecisionLogMask, "decision log fields to mask (e.g. subject,context,resource.account): each value is hidden everywhere in the line, reasons included")
	fs.StringVar(&c.DefaultDecision, "default-decision", c.DefaultDecision,
		"Data API entry point that POST / answers, OPA's default decision (gatehouse/decision/result, a document below it, or gatehouse/decision/allow)")
	fs.StringVar(&c.OTelEndpoint, "otel-endpoint", c.OTelEndpoint, "OpenTelemetry collector (HOST:PORT, OTLP/gRPC) to send traces to, as service gatehouse; empty: no tracing")
	fs.BoolVar(&c.OTelInsecure, "otel-insecure", c.OTelInsecure, "send traces to --otel-endpoint in plaintext (a collector on loopback); otherwise over TLS")
	fs.DurationVar(&c.ExpirySweep, "expiry-sweep", c.ExpirySweep, "how often expired access is recorded and announced")
	fs.IntVar(&c.DecisionCache, "decision-cache", c.DecisionCache, "policy answers kept for repeated questions on unchanged data (0: off; see POLICIES.md)")
	fs.Int64Var(&c.CacheMaxBytes, "cache-max-bytes", c.CacheMaxBytes,
		"with --store redis on a standalone Redis (database 0) or a Redis Cluster (the bound of each master's part), bytes of the records decisions read kept in memory and invalidated by Redis (client-side caching): a warm decision makes no Redis round trip (0: off)")
	c.HTTP.bindFlags(fs)
	c.TLS.bindFlags(fs)
	fs.StringVar(&c.DecisionAuth, "decision-auth", c.DecisionAuth,
		"how callers of /v1/decisions and /v1/data authenticate: none, token (a bearer JWT checked as the admin API's; its sub is the caller) or client-cert (a client certificate signed by --tls-client-ca-file; its URI SAN or common name is the caller); the policy sees the caller as input.caller")
	c.bindConsoleOIDCFlags(fs)
}

// bindConsoleOIDCFlags binds the console's sign-in with the identity
// provider of --jwt-issuer (issue 12): its client registration there.
func (c *Config) bindConsoleOIDCFlags(fs *pflag.FlagSet) {
	o := &c.ConsoleOIDC
	fs.StringVar(&o.ClientID, "console-oidc-client-id", o.ClientID,
		"client id of the console at --jwt-issuer's identity provider: the console signs users in there (authorization code with PKCE) and calls the API with their ID token, whose aud is this id")
	fs.StringVar(&o.ClientSecretFile, "console-oidc-client-secret-file", o.ClientSecretFile,
		"file holding the console's client secret at the identity provider (at least 16 characters)")
	fs.StringVar(&o.RedirectURL, "console-oidc-redirect-url", o.RedirectURL,
		"public URL of the console's /console/callback (https, or http to localhost), registered as a redirect URI at the identity provider")
}

func (c *Config) bindJWTFlags(fs *pflag.FlagSet) {
	c.bindJWTSecretFlag(fs)
	fs.StringVar(&c.JWTPublicKeyFile, "jwt-public-key-file", c.JWTPublicKeyFile, "PEM public key (RS256 or ES256) that verifies API tokens")
	fs.StringVar(&c.JWTJWKSURL, "jwt-jwks-url", c.JWTJWKSURL,
		"identity provider's JSON Web Key Set (https, or http to localhost) whose keys verify API tokens by their kid; "+
			"without it, a key file or a secret, the keys of --jwt-issuer's OpenID configuration are used")
	fs.DurationVar(&c.JWTJWKSRefresh, "jwt-jwks-refresh-interval", c.JWTJWKSRefresh, "how often the identity provider's keys are fetched again (at least 1s)")
	fs.DurationVar(&c.JWTJWKSMinRefresh, "jwt-jwks-min-refresh-interval", c.JWTJWKSMinRefresh,
		"least time between two early fetches of the keys for tokens naming an unknown kid, and between retries after a failed fetch")
	fs.DurationVar(&c.JWTJWKSLifetime, "jwt-jwks-cache-lifetime", c.JWTJWKSLifetime,
		"how long fetched keys stay usable while the identity provider cannot be reached; then every token gets 401")
	fs.StringVar(&c.JWTSubjectClaim, "jwt-subject-claim", c.JWTSubjectClaim, "claim of API tokens naming the actor (e.g. email); its value must be a valid id")
	c.bindJWTClaimFlags(fs)
}

// bindJWTClaimFlags binds the claims a server requires of API tokens, which
// `token` also names in the tokens it mints.
func (c *Config) bindJWTClaimFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.JWTAudience, "jwt-audience", c.JWTAudience, "audience API tokens must name in aud (set it in production)")
	fs.StringVar(&c.JWTIssuer, "jwt-issuer", c.JWTIssuer, "issuer API tokens must name in iss (set it in production)")
}

func (c *Config) bindJWTSecretFlag(fs *pflag.FlagSet) {
	fs.StringVar(&c.JWTSecretFile, "jwt-hs256-secret-file", c.JWTSecretFile, "file holding the HS256 secret that signs API tokens")
}

func (c *Config) bindClientFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Server, "server", c.Server, "URL of a running gatehouse (http:// when no scheme is given: localhost:8280)")
	fs.StringVar(&c.Token, "token", c.Token, "API token (JWT) for the running gatehouse: gatehouse token --sub NAME mints a development one")
}

// Validate checks the configuration a server needs.
func (c *Config) Validate() error {
	var errs []error
	if c.Store != "embedded" && c.Store != "redis" {
		errs = append(errs, fmt.Errorf("--store must be embedded or redis, not %q", c.Store))
	}
	if c.Store == "redis" {
		if _, err := url.Parse(c.RedisURL); err != nil {
			errs = append(errs, fmt.Errorf("--redis-url is not a URL: %s", urlProblem(err)))
		} else if c.RedisURL == "" {
			errs = append(errs, errors.New("--redis-url is empty"))
		}
	}
	errs = append(errs, c.validateReplicasAck()...)
	if err := validateAddr(c.Addr); err != nil {
		errs = append(errs, err)
	}
	if _, port, err := net.SplitHostPort(c.GRPCAddr); c.GRPCAddr != "" && err != nil {
		errs = append(errs, fmt.Errorf("--grpc-addr %q: %w", c.GRPCAddr, err))
	} else if c.GRPCAddr != "" && c.GRPCAddr == c.Addr && port != "0" {
		errs = append(errs, fmt.Errorf("--grpc-addr %q is --addr: give the gRPC server a port of its own", c.GRPCAddr))
	}
	errs = append(errs, c.TLS.validate()...)
	errs = append(errs, c.validateDecisionAuth()...)
	errs = append(errs, c.validateJWTKeys()...)
	errs = append(errs, c.validateConsoleOIDC()...)
	errs = append(errs, c.validateConsole()...)
	if c.JWTLeeway < 0 || c.JWTLeeway > httpapi.MaxJWTLeeway {
		errs = append(errs, fmt.Errorf("--jwt-leeway must be between 0s and %s (it is %s)", httpapi.MaxJWTLeeway, c.JWTLeeway))
	}
	for _, s := range c.SystemAdmins {
		if !engine.ValidID(s) {
			errs = append(errs, fmt.Errorf("--system-admins: %q is not a valid id", s))
		}
	}
	for _, u := range c.WebhookURLs {
		if p, err := url.Parse(u); err != nil {
			errs = append(errs, fmt.Errorf("--webhook-url is not a URL: %s", urlProblem(err)))
		} else if p.Scheme != "http" && p.Scheme != "https" {
			errs = append(errs, fmt.Errorf("--webhook-url %s must be an http(s) URL", redactURL(u)))
		}
	}
	if len(c.WebhookURLs) > 0 && c.WebhookSecretFile == "" {
		errs = append(errs, errors.New("--webhook-url needs --webhook-secret-file to sign deliveries"))
	}
	if _, err := engine.ParseDataPath(c.DefaultDecision); err != nil {
		errs = append(errs, fmt.Errorf("--default-decision %q is no entry point of the Data API: %w", c.DefaultDecision, err))
	}
	if c.OTelEndpoint != "" {
		if err := tracing.CheckEndpoint(c.OTelEndpoint); err != nil {
			errs = append(errs, fmt.Errorf("--otel-endpoint: %w", err))
		}
	} else if c.OTelInsecure {
		errs = append(errs, errors.New("--otel-insecure needs --otel-endpoint"))
	}
	if c.DecisionTimeout <= 0 {
		errs = append(errs, errors.New("--decision-timeout must be positive"))
	}
	if c.DecisionCache < 0 {
		errs = append(errs, errors.New("--decision-cache must not be negative"))
	}
	if c.CacheMaxBytes < 0 {
		errs = append(errs, errors.New("--cache-max-bytes must not be negative"))
	}
	if c.ExpirySweep <= 0 {
		errs = append(errs, errors.New("--expiry-sweep must be positive"))
	}
	errs = append(errs, c.HTTP.validate(
		handlerBound{"--store-write-timeout", c.StoreWriteTimeout},
		handlerBound{"--store-read-timeout", c.StoreReadTimeout})...)
	if c.StoreWriteTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--store-write-timeout must be positive, not %s", c.StoreWriteTimeout))
	}
	if c.StoreReadTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--store-read-timeout must be positive, not %s", c.StoreReadTimeout))
	}
	return errors.Join(errs...)
}

// validateReplicasAck checks --redis-min-replicas-ack and its timeout,
// which must leave a commit time for its script and a resend within
// --store-write-timeout.
func (c *Config) validateReplicasAck() []error {
	var errs []error
	if c.RedisMinReplicasAck < 0 {
		errs = append(errs, fmt.Errorf("--redis-min-replicas-ack must not be negative, not %d", c.RedisMinReplicasAck))
	}
	if c.RedisMinReplicasAck > 0 && c.Store != "redis" {
		errs = append(errs, fmt.Errorf("--redis-min-replicas-ack needs --store redis (the store is %s)", c.Store))
	}
	if c.RedisMinReplicasAck > 0 && (c.RedisMinReplicasAckTimeout <= 0 || c.RedisMinReplicasAckTimeout >= c.StoreWriteTimeout) {
		errs = append(errs, fmt.Errorf("--redis-min-replicas-ack-timeout must be positive and less than --store-write-timeout %s (it is %s)",
			c.StoreWriteTimeout, c.RedisMinReplicasAckTimeout))
	}
	return errs
}

// validateJWTKeys checks that at most one source of token keys is given
// and, for an identity provider's key set, its URL (or the issuer's, for
// OpenID Connect discovery) and refresh intervals (R43).
func (c *Config) validateJWTKeys() []error {
	var errs, given []string
	for flag, value := range map[string]string{
		"--jwt-hs256-secret-file": c.JWTSecretFile, "--jwt-public-key-file": c.JWTPublicKeyFile, "--jwt-jwks-url": c.JWTJWKSURL,
	} {
		if value != "" {
			given = append(given, flag)
		}
	}
	slices.Sort(given)
	if len(given) > 1 {
		which := "both"
		if len(given) > 2 {
			which = "all of"
		}
		errs = append(errs, fmt.Sprintf("give one of --jwt-hs256-secret-file, --jwt-public-key-file and --jwt-jwks-url, not %s %s", which, strings.Join(given, " and ")))
	}
	if c.JWTJWKSURL != "" {
		if err := httpapi.CheckKeySetURL(c.JWTJWKSURL); err != nil {
			errs = append(errs, fmt.Sprintf("--jwt-jwks-url %s: %v", redactURL(c.JWTJWKSURL), err))
		}
	}
	if c.discoversKeys() {
		if err := httpapi.CheckKeySetURL(c.JWTIssuer); err != nil {
			errs = append(errs, fmt.Sprintf("--jwt-issuer %s: with no --jwt-jwks-url, key file or secret, the keys are found by OpenID Connect discovery at the issuer, and %v", redactURL(c.JWTIssuer), err))
		}
	}
	if c.JWTJWKSURL != "" || c.discoversKeys() {
		switch {
		case c.JWTJWKSRefresh < time.Second:
			errs = append(errs, fmt.Sprintf("--jwt-jwks-refresh-interval must be at least 1s (it is %s)", c.JWTJWKSRefresh))
		case c.JWTJWKSMinRefresh <= 0 || c.JWTJWKSMinRefresh > c.JWTJWKSRefresh:
			errs = append(errs, fmt.Sprintf("--jwt-jwks-min-refresh-interval must be positive and at most --jwt-jwks-refresh-interval %s (it is %s)", c.JWTJWKSRefresh, c.JWTJWKSMinRefresh))
		case c.JWTJWKSLifetime <= c.JWTJWKSRefresh:
			errs = append(errs, fmt.Sprintf("--jwt-jwks-cache-lifetime must be longer than --jwt-jwks-refresh-interval %s (it is %s)", c.JWTJWKSRefresh, c.JWTJWKSLifetime))
		}
	}
	if c.JWTSubjectClaim == "" {
		errs = append(errs, "--jwt-subject-claim must name a claim (sub by default)")
	}
	var out []error
	for _, e := range errs {
		out = append(out, errors.New(e))
	}
	return out
}

// discoversKeys reports whether the token keys are found by OpenID Connect
// discovery: --jwt-issuer is set and no other source of keys is.
func (c *Config) discoversKeys() bool {
	return c.JWTIssuer != "" && c.JWTSecretFile == "" && c.JWTPublicKeyFile == "" && c.JWTJWKSURL == ""
}
