package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner): replace this placeholder with the real command.
func newServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "serve (not yet available)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("serve: not yet available in this build")
		},
	}
}
