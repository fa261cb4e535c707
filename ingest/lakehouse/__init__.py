"""The lakehouse server (one Spark driver: Thrift + Spark Connect + metastore) and its clients."""
