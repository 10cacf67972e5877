// Command imdsguard finds pod exec sessions that reach cloud instance
// metadata services in Kubernetes audit logs. See package cli.
package main

import (
	"os"

	"github.com/imdsguard/imdsguard/cli"
)

func main() {
	os.Exit(cli.Main())
}
