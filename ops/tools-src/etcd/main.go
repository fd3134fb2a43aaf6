// etcd built from the go.etcd.io/etcd/server/v3 module, for the chart tests in
// ops/test (the API server's store). See ops/tools.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
