package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner): replace this placeholder with the real command.
func newSelectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "select",
		Short: "select (not yet available)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("select: not yet available in this build")
		},
	}
}
