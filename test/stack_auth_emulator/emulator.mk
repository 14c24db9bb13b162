# test/stack_auth_emulator/emulator.mk: builds stack_auth_emulator, the loopback Stack Auth API of the tests.
#
# Included by the top-level Makefile; works alone as well (from the repository root):
#   make -f test/stack_auth_emulator/emulator.mk test/stack_auth_emulator/stack_auth_emulator
# Needs Debian 12's libcpp-httplib-dev, nlohmann-json3-dev and libcli11-dev.

# Including this file must not change the includer's default goal.
stack_auth_emulator_saved_goal := $(.DEFAULT_GOAL)

CXX ?= g++
STACK_AUTH_EMULATOR_DIR := test/stack_auth_emulator
STACK_AUTH_EMULATOR := $(STACK_AUTH_EMULATOR_DIR)/stack_auth_emulator
STACK_AUTH_EMULATOR_SRCS := $(sort $(wildcard $(STACK_AUTH_EMULATOR_DIR)/*.cpp))
STACK_AUTH_EMULATOR_HDRS := $(sort $(wildcard $(STACK_AUTH_EMULATOR_DIR)/*.hpp))

# Debian ships cpp-httplib compiled, and its classes change layout with these macros: take them from pkg-config.
STACK_AUTH_EMULATOR_HTTPLIB_CFLAGS := $(or $(shell pkg-config --cflags cpp-httplib 2>/dev/null),\
	-DCPPHTTPLIB_OPENSSL_SUPPORT -DCPPHTTPLIB_ZLIB_SUPPORT -DCPPHTTPLIB_BROTLI_SUPPORT)
STACK_AUTH_EMULATOR_HTTPLIB_LIBS := $(or $(shell pkg-config --libs cpp-httplib 2>/dev/null),-lcpp-httplib)

# File by file, so that `make -j` spreads them over the cores.
STACK_AUTH_EMULATOR_OBJS := $(STACK_AUTH_EMULATOR_SRCS:.cpp=.o)
$(STACK_AUTH_EMULATOR_DIR)/%.o: $(STACK_AUTH_EMULATOR_DIR)/%.cpp $(STACK_AUTH_EMULATOR_HDRS)
	$(CXX) -std=c++17 -O2 -Wall -Wextra -Wshadow $(if $(filter true 1,$(CI)),-Werror) \
		$(STACK_AUTH_EMULATOR_HTTPLIB_CFLAGS) -c -o $@ $<

$(STACK_AUTH_EMULATOR): $(STACK_AUTH_EMULATOR_OBJS)
	$(CXX) -o $@ $(STACK_AUTH_EMULATOR_OBJS) $(STACK_AUTH_EMULATOR_HTTPLIB_LIBS) -pthread

EXTRA_CLEAN += $(STACK_AUTH_EMULATOR) $(STACK_AUTH_EMULATOR_OBJS)

ifneq ($(words $(MAKEFILE_LIST)),1)
.DEFAULT_GOAL := $(stack_auth_emulator_saved_goal)
endif
