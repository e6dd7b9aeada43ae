// Package console serves gatehouse's admin console at /console/: the pages
// an account admin uses to approve, deny and manage access in a browser.
package console
