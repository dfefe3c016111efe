// Command certgate is a client-certificate (mutual TLS) gateway and the
// toolkit that explains its decisions. See README.md.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code through cobra: 1 for "rejected /
// findings", 2 for usage or input errors (documented in docs/cli.md).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "certgate",
		Short:         "Client-certificate (mTLS) gateway with IIS-style 403 sub-statuses, and the doctor that explains them",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newServeCmd(),
		newDemoCmd(),
		newCheckCmd(),
		newPKICmd(),
		newVerifyCmd(),
		newProbeCmd(),
		newSelectCmd(),
		newLintCmd(),
		newExplainCmd(),
		newMapCmd(),
		newLogsCmd(),
		newImportCmd(),
		newVersionCmd(),
	)
	root.Version = currentBuild().Version
	return root
}

func main() {
	err := newRootCmd().Execute()
	if err == nil {
		return
	}
	code := 2
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			os.Exit(code)
		}
	}
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(code)
}
