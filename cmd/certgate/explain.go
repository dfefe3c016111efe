package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner): replace this placeholder with the real command.
func newExplainCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "explain",
		Short: "explain (not yet available)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("explain: not yet available in this build")
		},
	}
}
