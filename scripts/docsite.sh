#!/usr/bin/env bash
# Build the collection's docs site the way antsibull-docs builds collection docsites, and fail on
# any documentation error: the extra pages are current with docs/ (scripts/docsite.py), the
# plugin, role and extra docs lint clean (antsibull-docs lint-collection-docs --plugin-docs),
# and Sphinx builds the HTML without a warning. The site ends up in tests/output/docsite/html.
# Part of the lint stage of scripts/test.sh; needs the .venv scripts/bootstrap.sh makes.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$repo/.venv"
export PATH="$venv/bin:$PATH" ANSIBLE_NOCOLOR=1
out="$repo/tests/output/docsite"
# antsibull-docs reads the collection through Ansible: the checkout under its collection name,
# and no other copy of it (~/.ansible/collections may hold an installed one).
rm -rf "$out"
mkdir -p "$out"
if [[ "$repo" == */ansible_collections/wgdoctor/wireguard ]]; then
  # A checkout at a collection path already (ansible-test's layout): Ansible resolves links to it.
  export ANSIBLE_COLLECTIONS_PATH="${repo%/ansible_collections/wgdoctor/wireguard}"
else
  collections="$repo/.cache/docsite-collections"
  rm -rf "$collections"
  mkdir -p "$collections/ansible_collections/wgdoctor"
  ln -s "$repo" "$collections/ansible_collections/wgdoctor/wireguard"
  export ANSIBLE_COLLECTIONS_PATH="$collections"
  trap 'rm -rf "$collections"' EXIT
fi

echo "docsite: extra pages current with docs/"
python "$repo/scripts/docsite.py" --check

echo "docsite: antsibull-docs lint-collection-docs --plugin-docs"
(cd "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/wgdoctor/wireguard" && antsibull-docs lint-collection-docs --plugin-docs .)

echo "docsite: antsibull-docs sphinx-init, collection, sphinx-build"
# Not from the checkout: there Ansible takes ./roles for stand-alone roles and the collection's
# role pages go missing from the site.
cd "$out"
mkdir -m 0755 "$out/site"  # antsibull-docs writes only into a directory no one else may write to
antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --project wgdoctor.wireguard \
  --title "wgdoctor.wireguard" --copyright "wgdoctor maintainers" --dest-dir "$out/site" wgdoctor.wireguard >/dev/null
cat >> "$out/site/conf.py" <<'CONF'

# Offline build: no intersphinx inventory can be fetched. A reference into another docsite
# (ansible-core's, another collection's) renders as its text; an unresolved reference inside
# this collection's pages still warns, and -W fails the build on it.
intersphinx_mapping = {}


def _external_reference_as_text(app, env, node, contnode):
    target = node.get('reftarget', '')
    if node.get('reftype') == 'doc' or target.startswith('ansible_collections.wgdoctor.wireguard.'):
        return None
    return contnode


def setup(app):
    app.connect('missing-reference', _external_reference_as_text)
CONF
antsibull-docs collection --use-current --squash-hierarchy --fail-on-error --cleanup everything \
  --dest-dir "$out/site/rst" wgdoctor.wireguard >/dev/null
# -W: a warning (a broken reference, a malformed page) fails the build.
sphinx-build -q -W --keep-going -b html -c "$out/site" "$out/site/rst" "$out/html"
for page in index docsite/findings docsite/facts docsite/lab docsite/roles/firewall firewall_role wg_facts_module; do
  [[ -s "$out/html/$page.html" ]] || { echo "docsite: $page.html is missing" >&2; exit 1; }
done
echo "docsite: $out/html/index.html"
