package envoyauthz

// HeaderValue exposes headerValue to the tests.
var HeaderValue = headerValue
