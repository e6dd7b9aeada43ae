// Package policywatch reloads the policy when its files change on disk
// (issue 4: hot reload).
//
// Watch follows a policy directory and its subdirectories with fsnotify.
// A burst of changes (an editor saving, a git checkout) is debounced into
// one reload: the watcher reads every policy file of the directory and
// hands them to a ReloadFunc, normally engine.Engine.Reload, which
// compiles them strictly, runs their Rego tests and only then swaps the
// active revision. A broken change is logged with its file and line and
// the previous revision keeps serving.
package policywatch
