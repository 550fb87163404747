# Makefile - what `sam build` calls for `BuildMethod: makefile` (target build-<LogicalId>),
# plus shortcuts for developers. SAM sets ARTIFACTS_DIR to the function's output folder.

.PHONY: build-EtlFunction static test demo clean

build-EtlFunction: static
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
