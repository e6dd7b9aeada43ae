// Package browsertest drives the admin console in a real browser: Debian's
// headless Chromium, through chromedp, against a real `gatehouse serve`
// process seeded with the demo data of `make run` (issue 12). It holds
// tests only; it is a package of its own so that scripts/test-go.sh runs
// it beside the others.
package browsertest
