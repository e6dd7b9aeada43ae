package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 9, section 1: a newcomer pastes every block of the README, in
// order, after `make run`, and gets what it says. TestReadme does just that:
// it starts the demo as `make run` does (scripts/demo-run.sh, a fresh secret,
// a fresh store of testdata/demo.json) on a free port instead of 8280, and
// runs the README's ```bash blocks, command by command, in one bash process
// whose working directory looks like a fresh clone after `make run`
// (bin/gatehouse, .cache/, policies/, testdata/demo.json). The README's
// convention, written at its top:
//
//   - a ```bash block is pasted and run; ```text and indented blocks are not
//     (production commands, layouts, output);
//   - every command exits 0 unless a comment `# -> exit N` (or
//     `# -> exit N: TEXT`) says otherwise;
//   - `# -> TEXT`, at the end of a command or on the lines right after it,
//     says the command prints TEXT; "..." in TEXT stands for any text, and
//     runs of spaces match runs of spaces.
//
// The address is the only thing the test changes: 127.0.0.1:8280 (and
// localhost:8280, and the demo directory named after it) become the test's,
// and GATEHOUSE_SERVER, which the client commands read, names it.

// readmeAddr is the address the README's commands name: make run's default.
const readmeAddr = "127.0.0.1:8280"

// readmeTools are the programs the README's blocks (and scripts/demo-run.sh)
// run besides gatehouse, with the command that installs each on Debian.
var readmeTools = []struct{ name, install string }{
	{"bash", "apt-get install -y bash"},
	{"curl", "apt-get install -y curl (make test installs it)"},
	{"awk", "apt-get install -y mawk"},
	{"sed", "apt-get install -y sed"},
	{"flock", "apt-get install -y util-linux"},
	{"timeout", "apt-get install -y coreutils"},
}

// readmeCommand is one command of a ```bash block, with what the README says
// it does.
type readmeCommand struct {
	line  int      // line of README.md where it starts
	text  string   // as written, comments included
	exit  int      // the exit status it must end with
	wants []string // texts its output (stdout and stderr) must contain
}

var (
	readmeWant = regexp.MustCompile(`(?:^|\s)# -> (.*)$`)
	readmeExit = regexp.MustCompile(`^exit (\d+)(?::\s*(.*))?$`)
)

// bashComplete reports whether text is one or more complete bash commands:
// no open quote, loop, if, here-document or continuation line.
func bashComplete(text string) bool {
	if strings.HasSuffix(strings.TrimRight(text, " \t"), `\`) {
		return false
	}
	// bash -n accepts an unterminated here-document with a warning.
	out, err := exec.Command("bash", "-n", "-c", text).CombinedOutput()
	return err == nil && len(out) == 0
}

// readmeCommands parses README.md: its ```bash blocks, split into
// commands, each with the exit status and the output the README gives it.
// It also returns the commands (curl, bin/gatehouse) written in indented
// blocks, which a newcomer would paste but no test would run.
func readmeCommands(t *testing.T, readme string) (cmds []readmeCommand, indented []string) {
	t.Helper()
	var (
		cur            []string
		start          int
		inFence, runIt bool
		lastInBlock    = -1 // index in cmds of the block's last command
	)
	finish := func() {
		c := readmeCommand{line: start, text: strings.Join(cur, "\n")}
		for _, l := range cur {
			if m := readmeWant.FindStringSubmatch(l); m != nil {
				c.wants = append(c.wants, m[1])
			}
		}
		cmds = append(cmds, c)
		lastInBlock = len(cmds) - 1
		cur = nil
	}
	for i, line := range strings.Split(readme, "\n") {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		switch {
		case !inFence && strings.HasPrefix(line, "```"):
			inFence, runIt, lastInBlock = true, strings.TrimPrefix(line, "```") == "bash", -1
			continue
		case inFence && line == "```":
			require.Empty(t, cur, "README.md:%d: the ```bash block ends inside a command", start)
			inFence = false
			continue
		case !inFence:
			if strings.HasPrefix(line, "    ") && (strings.HasPrefix(trimmed, "bin/gatehouse ") || strings.HasPrefix(trimmed, "curl ")) {
				indented = append(indented, fmt.Sprintf("README.md:%d: %s", n, trimmed))
			}
			continue
		case !runIt:
			continue
		}
		if cur == nil {
			if trimmed == "" {
				continue
			}
			if strings.HasPrefix(trimmed, "#") {
				if m := readmeWant.FindStringSubmatch(trimmed); m != nil {
					require.GreaterOrEqual(t, lastInBlock, 0, "README.md:%d: %q follows no command", n, trimmed)
					cmds[lastInBlock].wants = append(cmds[lastInBlock].wants, m[1])
				}
				continue
			}
			start = n
		}
		cur = append(cur, line)
		if bashComplete(strings.Join(cur, "\n")) {
			finish()
		}
	}
	require.False(t, inFence, "README.md ends inside a fenced block")

	for i := range cmds {
		var wants []string
		for _, w := range cmds[i].wants {
			if m := readmeExit.FindStringSubmatch(w); m != nil {
				cmds[i].exit, _ = strconv.Atoi(m[1])
				w = m[2]
			}
			if w != "" {
				wants = append(wants, w)
			}
		}
		cmds[i].wants = wants
	}
	return cmds, indented
}

// outputHas reports whether out contains want, "..." in want standing for
// any text and runs of blanks matching runs of blanks.
func outputHas(out, want string) bool {
	blanks := regexp.MustCompile(`[ \t]+`)
	out = blanks.ReplaceAllString(out, " ")
	for _, part := range strings.Split(blanks.ReplaceAllString(want, " "), "...") {
		i := strings.Index(out, part)
		if i < 0 {
			return false
		}
		out = out[i+len(part):]
	}
	return true
}

// atAddress rewrites the README's address, and the demo directory named
// after it, to addr.
func atAddress(s, addr string) string {
	return strings.NewReplacer(
		readmeAddr, addr,
		"localhost:8280", addr,
		strings.ReplaceAll(readmeAddr, ":", "_"), strings.ReplaceAll(addr, ":", "_"),
	).Replace(s)
}

// newcomerClone makes a directory that looks like a fresh clone after
// `make build`: bin/gatehouse, policies/, testdata/demo.json, and the
// development secret make run keeps in .cache/.
func newcomerClone(t *testing.T, repo string) string {
	t.Helper()
	work := t.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(work, "bin", "gatehouse"), ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	require.NoError(t, os.CopyFS(filepath.Join(work, "policies"), os.DirFS(filepath.Join(repo, "policies"))))
	require.NoError(t, os.MkdirAll(filepath.Join(work, "testdata"), 0o755))
	demo, err := os.ReadFile(filepath.Join(repo, "testdata", "demo.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(work, "testdata", "demo.json"), demo, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(work, ".cache"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(work, ".cache", "dev-jwt-secret"),
		[]byte(base64.StdEncoding.EncodeToString([]byte(rand.Text()))+"\n"), 0o600))
	return work
}

// startReadmeDemo runs scripts/demo-run.sh in work as `make run` does, with
// generous deadlines so that a loaded test machine does not turn a decision
// into a timeout.
func startReadmeDemo(t *testing.T, repo, work, addr string) *demoRun {
	t.Helper()
	d := &demoRun{done: make(chan error, 1)}
	d.cmd = exec.Command(filepath.Join(repo, "scripts", "demo-run.sh"),
		"bin/gatehouse", addr, ".cache/demo", ".cache/dev-jwt-secret")
	d.cmd.Dir = work
	d.cmd.Env = append(os.Environ(), "GATEHOUSE_DECISION_TIMEOUT=20s",
		"GATEHOUSE_STORE_WRITE_TIMEOUT=20s", "GATEHOUSE_STORE_READ_TIMEOUT=20s")
	d.cmd.Stdout, d.cmd.Stderr = &d.out, &d.out
	require.NoError(t, d.cmd.Start())
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if !d.exited() {
			d.stop(t)
		}
	})
	waitHealthy(t, d, addr)
	return d
}

func TestReadme(t *testing.T) {
	for _, tool := range readmeTools {
		_, err := exec.LookPath(tool.name)
		require.NoError(t, err, "the README's commands need %s: %s", tool.name, tool.install)
	}
	repo, err := filepath.Abs("../..")
	require.NoError(t, err)
	raw, err := os.ReadFile(filepath.Join(repo, "README.md"))
	require.NoError(t, err)
	readme := string(raw)
	require.True(t, strings.HasPrefix(readme, "# gatehouse\n\n    make run "),
		"the README starts with the two commands a newcomer runs: make run, then make test")
	cmds, indented := readmeCommands(t, readme)
	require.NotEmpty(t, cmds, "README.md has no ```bash block")
	assert.Empty(t, indented, "a command a newcomer pastes goes in a ```bash block (run by this test); "+
		"one not to paste goes in a ```text block")

	work := newcomerClone(t, repo)
	addr := freeAddr(t)
	demo := startReadmeDemo(t, repo, work, addr)

	// One bash process runs every command in order, as one terminal would;
	// each command's output and exit status go to files of their own.
	outDir := t.TempDir()
	var script strings.Builder
	for i, c := range cmds {
		fmt.Fprintf(&script, "echo %d >%s/current\n{\n%s\n} >%s/%d.out 2>&1\necho $? >%s/%d.rc\n",
			i, outDir, atAddress(c.text, addr), outDir, i, outDir, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-c", script.String())
	sh.Dir = work
	sh.WaitDelay = 10 * time.Second // a killed bash's children may hold its output open
	// A generous deadline for the offline decide and replay steps: a loaded
	// machine must not turn an evaluation into a timeout deny.
	sh.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8",
		"GATEHOUSE_SERVER=http://" + addr, "GATEHOUSE_DECISION_TIMEOUT=20s"}
	start := time.Now()
	out, err := sh.CombinedOutput()
	if ctx.Err() != nil {
		current, _ := os.ReadFile(filepath.Join(outDir, "current"))
		i, _ := strconv.Atoi(strings.TrimSpace(string(current)))
		require.FailNow(t, "the README's commands did not finish", "still running README.md:%d:\n%s\ndemo:\n%s",
			cmds[i].line, cmds[i].text, demo.out.String())
	}
	require.NoError(t, err, "bash: %s", out)
	t.Logf("ran the README's %d commands in %s", len(cmds), time.Since(start).Round(time.Millisecond))

	for i, c := range cmds {
		rc, err := os.ReadFile(filepath.Join(outDir, fmt.Sprintf("%d.rc", i)))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(outDir, fmt.Sprintf("%d.out", i)))
		require.NoError(t, err)
		status, _ := strconv.Atoi(strings.TrimSpace(string(rc)))
		output := string(got)
		failed := status != c.exit
		for _, w := range c.wants {
			if !outputHas(output, atAddress(w, addr)) {
				failed = true
			}
		}
		if failed {
			t.Errorf("README.md:%d:\n%s\nwants exit %d and %q;\ngot exit %d:\n%s", c.line, c.text, c.exit, c.wants, status, output)
		}
	}
	if t.Failed() {
		t.Logf("the demo's output:\n%s", demo.out.String())
	}
}

// The parser reads what the README's convention says.
func TestReadmeCommands(t *testing.T) {
	readme := "# t\n\n    bin/gatehouse version\n\n```text\ncurl -s x\n```\n\n```bash\n" +
		"echo a   # -> a\n" +
		"false \\\n  --x   # -> exit 1\n" +
		"for x in 1 2; do\n  echo $x\ndone\n# -> 1\n# -> 2\n" +
		"# a comment\n" +
		"grep -q z /dev/null  # -> exit 1: ...\n" +
		"cat <<EOF\nx\nEOF\n" +
		"```\n"
	cmds, indented := readmeCommands(t, readme)
	assert.Equal(t, []string{"README.md:3: bin/gatehouse version"}, indented)
	require.Len(t, cmds, 5)
	assert.Equal(t, readmeCommand{line: 10, text: "echo a   # -> a", wants: []string{"a"}}, cmds[0])
	assert.Equal(t, 1, cmds[1].exit)
	assert.Empty(t, cmds[1].wants)
	assert.Equal(t, []string{"1", "2"}, cmds[2].wants)
	assert.Equal(t, 13, cmds[2].line)
	assert.Equal(t, 1, cmds[3].exit)
	assert.Equal(t, "cat <<EOF\nx\nEOF", cmds[4].text)

	assert.True(t, outputHas("{\"allow\":true,\"id\":\"01J\"}", `{"allow":true,...}`))
	assert.True(t, outputHas("ID   STATUS\nx    pending", "ID STATUS"))
	assert.False(t, outputHas("deny", "allow"))
	assert.Equal(t, "http://127.0.0.1:9/x .cache/demo/127.0.0.1_9/data",
		atAddress("http://127.0.0.1:8280/x .cache/demo/127.0.0.1_8280/data", "127.0.0.1:9"))
}
