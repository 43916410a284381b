"""MongoDB from the mongod wheels, or the SecantusDB stand-in (never counted)."""

from verify.engines import Engine
from verify.engines.mongodb.client import connect
from verify.engines.mongodb.server import (
    MongoDBServer,
    host_unavailable,
    missing_here,
    stand_in,
)

ENGINE = Engine(name="mongodb", server=MongoDBServer, connect=connect,
                identities=("mongodb",),      # the stand-in reports its own name
                host_unavailable=host_unavailable, missing_here=missing_here,
                stand_in=stand_in)

__all__ = ["ENGINE"]
