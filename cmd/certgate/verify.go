package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner): replace this placeholder with the real command.
func newVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "verify (not yet available)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("verify: not yet available in this build")
		},
	}
}
