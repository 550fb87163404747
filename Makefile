# Makefile - what `sam build` calls for `BuildMethod: makefile` (target build-<LogicalId>; both
# functions run the same bootstrap), plus shortcuts for developers. SAM copies the checkout to a
# scratch folder, runs the target there and sets ARTIFACTS_DIR to the function's output folder
# (.aws-sam/build/<LogicalId>).

.PHONY: build-EtlFunction build-StreamFunction static test demo clean

build-EtlFunction build-StreamFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: sam build sets it (by hand: make build-EtlFunction ARTIFACTS_DIR=out)" >&2; exit 2; }
	scripts/build-static.sh
	mkdir -p "$(ARTIFACTS_DIR)"
	cp dist/bootstrap "$(ARTIFACTS_DIR)/bootstrap"
	chmod 0755 "$(ARTIFACTS_DIR)/bootstrap"
	cp events/transform-single-table.json "$(ARTIFACTS_DIR)/transform-single-table.json"

static:
	scripts/build-static.sh

test:
	scripts/test.sh

demo:
	scripts/demo.sh

clean:
	rm -rf build dist
