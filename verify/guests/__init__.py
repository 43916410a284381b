"""Where engines run: process (host binaries), namespace (DIB image), vm."""
