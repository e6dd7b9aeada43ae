package redistest

import (
	"os/exec"
	"syscall"
)

// orphanProof makes the kernel kill redis-server when the test process dies
// without running its cleanups (killed, or its output pipe closed).
func orphanProof(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
