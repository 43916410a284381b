#!/usr/bin/env bash
# Cassandra 5.0 for trove-verify. Debian ships no Cassandra: install JDK 17
# and Maven from Debian when absent, then fetch Apache's
# org.apache.cassandra:cassandra-all and its dependencies from Maven Central
# (tools/cassandra/pom.xml) into the cache, outside the repository. Nothing is
# downloaded at test time. Idempotent: a cache holding the pinned version is
# kept as it is.
set -euo pipefail

cd "$(dirname "$0")/../.."
SUDO=${SUDO-}
POM=tools/cassandra/pom.xml
VERSION=$(sed -n 's|.*<cassandra.version>\(.*\)</cassandra.version>.*|\1|p' "$POM")
CACHE=${TROVE_VERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trove-verify}
LIB=${TROVE_VERIFY_CASSANDRA_LIB:-$CACHE/cassandra/lib}

java17() {
    local j
    for j in /usr/lib/jvm/java-17-openjdk-*/bin/java; do
        [ -x "$j" ] && { echo "$j"; return; }
    done
}

missing=()
[ -n "$(java17)" ] || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if [ ${#missing[@]} -gt 0 ]; then
    echo "cassandra: installing ${missing[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
JAVA=$(java17)
if [ -z "$JAVA" ]; then
    echo "cassandra: no JDK 17 under /usr/lib/jvm after installing openjdk-17-jre-headless" >&2
    exit 69
fi

if [ -f "$LIB/cassandra-all-$VERSION.jar" ] && [ -f "$LIB/.complete" ]; then
    echo "cassandra: $VERSION jars already in $LIB"
    exit 0
fi
echo "cassandra: fetching cassandra-all $VERSION and its dependencies into $LIB"
mkdir -p "$(dirname "$LIB")"
TMP="$LIB.tmp.$$"
rm -rf "$TMP"
# Maven itself on JDK 17 too: a newer default JDK may sit beside it.
JAVA_HOME=$(dirname "$(dirname "$JAVA")") mvn -q -B -f "$POM" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$TMP"
touch "$TMP/.complete"
rm -rf "$LIB"
mv "$TMP" "$LIB"
echo "cassandra: $(find "$LIB" -name "*.jar" | wc -l) jars, $(du -sh "$LIB" | cut -f1)"
