/// The OpenAPI 3.1 document of everything a client can call through the gateway: the token
/// server's public endpoints, every hotel endpoint, the gateway's own, their errors and the OAuth2
/// security scheme. This string is the one copy: the gateway serves it at `/openapi.json`,
/// `portier openapi` prints it, and `make test` (tests/contract.sh) validates it with
/// openapi-spec-validator and runs schemathesis against a running stack through the gateway, so
/// the document and the code cannot drift apart. Edit the JSON here.
///
/// A Swift string rather than a SwiftPM resource: one binary, no bundle to find at run time.
public enum OpenAPIDocument {
    /// The document, as served.
    public static let json: String = ##"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "Portier hotel API",
            "version": "1.0.0",
            "summary": "Everything a client can call through the Portier gateway.",
            "description": "The hotel booking API behind the Portier gateway, and the OAuth2 token server it fronts.\n\n**Tokens.** Get one with the client-credentials grant at `/oauth/token`; send it as `Authorization: Bearer <token>`. GET and HEAD need scope `read`; POST, PUT, PATCH and DELETE need `write`.\n\n**Errors.** Every error is JSON, `{\"error\", \"error_description\", \"request_id\"}`, with an `X-Request-Id` header.\n\n**Methods.** HEAD answers like GET without a body. A known path asked with a method it does not serve answers 405 with `Allow`; TRACE and CONNECT are always 405 at the gateway; an unknown path is 404.\n\n**Body limits.** The gateway refuses bodies over 10 MB (10,485,760 bytes, `maxBodyBytes` in routes.json) with 413 before they reach a service; the hotel services and the token server stop at 64 KiB (65,536 bytes), also with 413. Request heads over 32 KB get 431.\n\n**Rate limits.** Hotel routes are limited per client (1000/s, burst 2000 by default), the `oauth` route per address (50/s, burst 100); responses carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, and a refusal is 429 with `Retry-After`.",
            "license": {
              "name": "Apache-2.0",
              "identifier": "Apache-2.0"
            }
          },
          "servers": [
            {
              "url": "http://127.0.0.1:8088",
              "description": "The gateway of a local `portier up`."
            }
          ],
          "tags": [
            {
              "name": "rooms"
            },
            {
              "name": "books"
            },
            {
              "name": "payments"
            },
            {
              "name": "notifications"
            },
            {
              "name": "mypages"
            },
            {
              "name": "oauth"
            },
            {
              "name": "gateway"
            }
          ],
          "security": [
            {
              "oauth2": []
            }
          ],
          "paths": {
            "/rooms": {
              "get": {
                "operationId": "searchRooms",
                "summary": "Search rooms (F3); filters combine",
                "tags": [
                  "rooms"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "parameters": [
                  {
                    "name": "minPrice",
                    "in": "query",
                    "required": false,
                    "description": "Lowest price per night.",
                    "schema": {
                      "type": "integer",
                      "format": "int64",
                      "minimum": 0,
                      "maximum": 9223372036854775807
                    }
                  },
                  {
                    "name": "maxPrice",
                    "in": "query",
                    "required": false,
                    "description": "Highest price per night.",
                    "schema": {
                      "type": "integer",
                      "format": "int64",
                      "minimum": 0,
                      "maximum": 9223372036854775807
                    }
                  },
                  {
                    "name": "hostId",
                    "in": "query",
                    "required": false,
                    "description": "Only this host's rooms.",
                    "schema": {
                      "type": "integer",
                      "format": "int64",
                      "minimum": 1,
                      "maximum": 9223372036854775807
                    }
                  },
                  {
                    "name": "name",
                    "in": "query",
                    "required": false,
                    "description": "A part of the room's name (case-insensitive); empty means no filter.",
                    "schema": {
                      "type": "string",
                      "maxLength": 100,
                      "pattern": "^([^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*)?$"
                    }
                  },
                  {
                    "name": "stay",
                    "in": "query",
                    "required": false,
                    "style": "form",
                    "explode": true,
                    "description": "`from` and `to` (both or neither, `from` before `to`): only rooms free on every night from `from` up to `to`.",
                    "schema": {
                      "type": "object",
                      "properties": {
                        "from": {
                          "type": "string",
                          "format": "date",
                          "description": "A calendar date, `2026-05-05` (ASCII digits only; the seed's compact `20260505` is accepted too).",
                          "examples": [
                            "2031-01-10"
                          ]
                        },
                        "to": {
                          "type": "string",
                          "format": "date",
                          "description": "A calendar date, `2026-05-05` (ASCII digits only; the seed's compact `20260505` is accepted too).",
                          "examples": [
                            "2031-01-10"
                          ]
                        }
                      },
                      "required": [
                        "from",
                        "to"
                      ],
                      "additionalProperties": false
                    }
                  },
                  {
                    "name": "page",
                    "in": "query",
                    "required": false,
                    "description": "Page number, from 1.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000000,
                      "default": 1
                    }
                  },
                  {
                    "name": "size",
                    "in": "query",
                    "required": false,
                    "description": "Page size.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 100,
                      "default": 20
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page of rooms.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/RoomPage"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              },
              "head": {
                "operationId": "searchRoomsHead",
                "summary": "HEAD of: Search rooms (F3); filters combine",
                "tags": [
                  "rooms"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "parameters": [
                  {
                    "name": "minPrice",
                    "in": "query",
                    "required": false,
                    "description": "Lowest price per night.",
                    "schema": {
                      "type": "integer",
                      "format": "int64",
                      "minimum": 0,
                      "maximum": 9223372036854775807
                    }
                  },
                  {
                    "name": "maxPrice",
                    "in": "query",
                    "required": false,
                    "description": "Highest price per night.",
                    "schema": {
                      "type": "integer",
                      "format": "int64",
                      "minimum": 0,
                      "maximum": 9223372036854775807
                    }
                  },
                  {
                    "name": "hostId",
                    "in": "query",
                    "required": false,
                    "description": "Only this host's rooms.",
                    "schema": {
                      "type": "integer",
                      "format": "int64",
                      "minimum": 1,
                      "maximum": 9223372036854775807
                    }
                  },
                  {
                    "name": "name",
                    "in": "query",
                    "required": false,
                    "description": "A part of the room's name (case-insensitive); empty means no filter.",
                    "schema": {
                      "type": "string",
                      "maxLength": 100,
                      "pattern": "^([^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*)?$"
                    }
                  },
                  {
                    "name": "stay",
                    "in": "query",
                    "required": false,
                    "style": "form",
                    "explode": true,
                    "description": "`from` and `to` (both or neither, `from` before `to`): only rooms free on every night from `from` up to `to`.",
                    "schema": {
                      "type": "object",
                      "properties": {
                        "from": {
                          "type": "string",
                          "format": "date",
                          "description": "A calendar date, `2026-05-05` (ASCII digits only; the seed's compact `20260505` is accepted too).",
                          "examples": [
                            "2031-01-10"
                          ]
                        },
                        "to": {
                          "type": "string",
                          "format": "date",
                          "description": "A calendar date, `2026-05-05` (ASCII digits only; the seed's compact `20260505` is accepted too).",
                          "examples": [
                            "2031-01-10"
                          ]
                        }
                      },
                      "required": [
                        "from",
                        "to"
                      ],
                      "additionalProperties": false
                    }
                  },
                  {
                    "name": "page",
                    "in": "query",
                    "required": false,
                    "description": "Page number, from 1.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000000,
                      "default": 1
                    }
                  },
                  {
                    "name": "size",
                    "in": "query",
                    "required": false,
                    "description": "Page size.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 100,
                      "default": 20
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page of rooms.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequestWithoutBody"
                  },
                  "401": {
                    "$ref": "#/components/responses/UnauthorizedWithoutBody"
                  },
                  "403": {
                    "$ref": "#/components/responses/ForbiddenWithoutBody"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFoundWithoutBody"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequestsWithoutBody"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGatewayWithoutBody"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailableWithoutBody"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeoutWithoutBody"
                  }
                },
                "description": "Answers like GET (status and headers, Content-Length included) without a body."
              },
              "post": {
                "operationId": "registerRoom",
                "summary": "Register a room (F1)",
                "tags": [
                  "rooms"
                ],
                "security": [
                  {
                    "oauth2": [
                      "write"
                    ]
                  }
                ],
                "requestBody": {
                  "required": true,
                  "description": "At most 64 KiB (65,536 bytes), else 413.",
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/NewRoom"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "The room, registered.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      },
                      "Location": {
                        "$ref": "#/components/headers/Location"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Room"
                        }
                      }
                    },
                    "links": {
                      "GetRoom": {
                        "operationId": "getRoom",
                        "parameters": {
                          "id": "$response.body#/id"
                        }
                      },
                      "DeleteRoom": {
                        "operationId": "deleteRoom",
                        "parameters": {
                          "id": "$response.body#/id"
                        }
                      },
                      "BookRoom": {
                        "operationId": "createBook",
                        "requestBody": {
                          "roomId": "$response.body#/id",
                          "guestId": 10,
                          "startDate": "2031-01-10",
                          "endDate": "2031-01-12"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "413": {
                    "$ref": "#/components/responses/PayloadTooLarge"
                  },
                  "415": {
                    "$ref": "#/components/responses/UnsupportedMediaType"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              }
            },
            "/rooms/{id}": {
              "parameters": [
                {
                  "name": "id",
                  "in": "path",
                  "required": true,
                  "description": "The room's id.",
                  "schema": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  }
                }
              ],
              "get": {
                "operationId": "getRoom",
                "summary": "One room",
                "tags": [
                  "rooms"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The room.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Room"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              },
              "head": {
                "operationId": "getRoomHead",
                "summary": "HEAD of: One room",
                "tags": [
                  "rooms"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The room.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequestWithoutBody"
                  },
                  "401": {
                    "$ref": "#/components/responses/UnauthorizedWithoutBody"
                  },
                  "403": {
                    "$ref": "#/components/responses/ForbiddenWithoutBody"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFoundWithoutBody"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequestsWithoutBody"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGatewayWithoutBody"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailableWithoutBody"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeoutWithoutBody"
                  }
                },
                "description": "Answers like GET (status and headers, Content-Length included) without a body."
              },
              "delete": {
                "operationId": "deleteRoom",
                "summary": "Delete a room (F2); 409 while it has bookings that have not ended",
                "tags": [
                  "rooms"
                ],
                "security": [
                  {
                    "oauth2": [
                      "write"
                    ]
                  }
                ],
                "responses": {
                  "204": {
                    "description": "Deleted.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  }
                }
              }
            },
            "/books": {
              "get": {
                "operationId": "listBooks",
                "summary": "A guest's or a host's bookings",
                "tags": [
                  "books"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "parameters": [
                  {
                    "name": "party",
                    "in": "query",
                    "required": true,
                    "style": "form",
                    "explode": true,
                    "description": "`guestId` (the guest's bookings; wins over hostId) or `hostId` (the host's).",
                    "schema": {
                      "type": "object",
                      "properties": {
                        "guestId": {
                          "type": "integer",
                          "format": "int64",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        },
                        "hostId": {
                          "type": "integer",
                          "format": "int64",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        }
                      },
                      "additionalProperties": false,
                      "anyOf": [
                        {
                          "required": [
                            "guestId"
                          ]
                        },
                        {
                          "required": [
                            "hostId"
                          ]
                        }
                      ]
                    }
                  },
                  {
                    "name": "page",
                    "in": "query",
                    "required": false,
                    "description": "Page number, from 1.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000000,
                      "default": 1
                    }
                  },
                  {
                    "name": "size",
                    "in": "query",
                    "required": false,
                    "description": "Page size.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 100,
                      "default": 20
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page of bookings, newest first.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/BookPage"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              },
              "head": {
                "operationId": "listBooksHead",
                "summary": "HEAD of: A guest's or a host's bookings",
                "tags": [
                  "books"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "parameters": [
                  {
                    "name": "party",
                    "in": "query",
                    "required": true,
                    "style": "form",
                    "explode": true,
                    "description": "`guestId` (the guest's bookings; wins over hostId) or `hostId` (the host's).",
                    "schema": {
                      "type": "object",
                      "properties": {
                        "guestId": {
                          "type": "integer",
                          "format": "int64",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        },
                        "hostId": {
                          "type": "integer",
                          "format": "int64",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        }
                      },
                      "additionalProperties": false,
                      "anyOf": [
                        {
                          "required": [
                            "guestId"
                          ]
                        },
                        {
                          "required": [
                            "hostId"
                          ]
                        }
                      ]
                    }
                  },
                  {
                    "name": "page",
                    "in": "query",
                    "required": false,
                    "description": "Page number, from 1.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000000,
                      "default": 1
                    }
                  },
                  {
                    "name": "size",
                    "in": "query",
                    "required": false,
                    "description": "Page size.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 100,
                      "default": 20
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page of bookings, newest first.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequestWithoutBody"
                  },
                  "401": {
                    "$ref": "#/components/responses/UnauthorizedWithoutBody"
                  },
                  "403": {
                    "$ref": "#/components/responses/ForbiddenWithoutBody"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFoundWithoutBody"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequestsWithoutBody"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGatewayWithoutBody"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailableWithoutBody"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeoutWithoutBody"
                  }
                },
                "description": "Answers like GET (status and headers, Content-Length included) without a body."
              },
              "post": {
                "operationId": "createBook",
                "summary": "Book a room (F4); the payment happens synchronously (F5)",
                "tags": [
                  "books"
                ],
                "security": [
                  {
                    "oauth2": [
                      "write"
                    ]
                  }
                ],
                "description": "The booking is stored only once its payment was approved; when payments is down or slow the answer is a fast 503 with Retry-After, and nothing is stored. Overlapping dates are a 409.",
                "requestBody": {
                  "required": true,
                  "description": "At most 64 KiB (65,536 bytes), else 413.",
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/NewBook"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "The booking, paid.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      },
                      "Location": {
                        "$ref": "#/components/headers/Location"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Book"
                        }
                      }
                    },
                    "links": {
                      "GetBook": {
                        "operationId": "getBook",
                        "parameters": {
                          "id": "$response.body#/id"
                        }
                      },
                      "CancelBook": {
                        "operationId": "cancelBook",
                        "parameters": {
                          "id": "$response.body#/id"
                        }
                      },
                      "CancelBookByPost": {
                        "operationId": "cancelBookByPost",
                        "parameters": {
                          "id": "$response.body#/id"
                        }
                      },
                      "GetPayment": {
                        "operationId": "getPayment",
                        "parameters": {
                          "id": "$response.body#/paymentId"
                        }
                      }
                    }
                  },
                  "402": {
                    "description": "`payment_declined`: payments declined the payment.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "422": {
                    "description": "`invalid_price`: the room has no valid price for these nights.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "413": {
                    "$ref": "#/components/responses/PayloadTooLarge"
                  },
                  "415": {
                    "$ref": "#/components/responses/UnsupportedMediaType"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              }
            },
            "/books/{id}": {
              "parameters": [
                {
                  "name": "id",
                  "in": "path",
                  "required": true,
                  "description": "The booking's id.",
                  "schema": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  }
                }
              ],
              "get": {
                "operationId": "getBook",
                "summary": "One booking (F8)",
                "tags": [
                  "books"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The booking.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Book"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              },
              "head": {
                "operationId": "getBookHead",
                "summary": "HEAD of: One booking (F8)",
                "tags": [
                  "books"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The booking.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequestWithoutBody"
                  },
                  "401": {
                    "$ref": "#/components/responses/UnauthorizedWithoutBody"
                  },
                  "403": {
                    "$ref": "#/components/responses/ForbiddenWithoutBody"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFoundWithoutBody"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequestsWithoutBody"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGatewayWithoutBody"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailableWithoutBody"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeoutWithoutBody"
                  }
                },
                "description": "Answers like GET (status and headers, Content-Length included) without a body."
              },
              "delete": {
                "operationId": "cancelBook",
                "summary": "Cancel a booking (F9); repeating it changes nothing",
                "tags": [
                  "books"
                ],
                "security": [
                  {
                    "oauth2": [
                      "write"
                    ]
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The booking, canceled.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Book"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              }
            },
            "/books/{id}/cancel": {
              "parameters": [
                {
                  "name": "id",
                  "in": "path",
                  "required": true,
                  "description": "The booking's id.",
                  "schema": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  }
                }
              ],
              "post": {
                "operationId": "cancelBookByPost",
                "summary": "Cancel a booking (F9), for clients that cannot send DELETE",
                "tags": [
                  "books"
                ],
                "security": [
                  {
                    "oauth2": [
                      "write"
                    ]
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The booking, canceled.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Book"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  },
                  "413": {
                    "$ref": "#/components/responses/PayloadTooLarge"
                  }
                }
              }
            },
            "/payments": {
              "get": {
                "operationId": "listPayments",
                "summary": "Payments of a booking or a guest (read-only from outside)",
                "tags": [
                  "payments"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "description": "Creating and voiding payments is internal (books, with its own service token): through the gateway every other method is 405.",
                "parameters": [
                  {
                    "name": "filter",
                    "in": "query",
                    "required": true,
                    "style": "form",
                    "explode": true,
                    "description": "`bookId` (the booking's payment; wins over guestId) or `guestId` (the guest's payments).",
                    "schema": {
                      "type": "object",
                      "properties": {
                        "bookId": {
                          "type": "integer",
                          "format": "int64",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        },
                        "guestId": {
                          "type": "integer",
                          "format": "int64",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        }
                      },
                      "additionalProperties": false,
                      "anyOf": [
                        {
                          "required": [
                            "bookId"
                          ]
                        },
                        {
                          "required": [
                            "guestId"
                          ]
                        }
                      ]
                    }
                  },
                  {
                    "name": "page",
                    "in": "query",
                    "required": false,
                    "description": "Page number, from 1.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000000,
                      "default": 1
                    }
                  },
                  {
                    "name": "size",
                    "in": "query",
                    "required": false,
                    "description": "Page size.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 100,
                      "default": 20
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page of payments, newest first.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/PaymentPage"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              },
              "head": {
                "operationId": "listPaymentsHead",
                "summary": "HEAD of: Payments of a booking or a guest (read-only from outside)",
                "tags": [
                  "payments"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "description": "Answers like GET (status and headers, Content-Length included) without a body.",
                "parameters": [
                  {
                    "name": "filter",
                    "in": "query",
                    "required": true,
                    "style": "form",
                    "explode": true,
                    "description": "`bookId` (the booking's payment; wins over guestId) or `guestId` (the guest's payments).",
                    "schema": {
                      "type": "object",
                      "properties": {
                        "bookId": {
                          "type": "integer",
                          "format": "int64",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        },
                        "guestId": {
                          "type": "integer",
                          "format": "int64",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        }
                      },
                      "additionalProperties": false,
                      "anyOf": [
                        {
                          "required": [
                            "bookId"
                          ]
                        },
                        {
                          "required": [
                            "guestId"
                          ]
                        }
                      ]
                    }
                  },
                  {
                    "name": "page",
                    "in": "query",
                    "required": false,
                    "description": "Page number, from 1.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000000,
                      "default": 1
                    }
                  },
                  {
                    "name": "size",
                    "in": "query",
                    "required": false,
                    "description": "Page size.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 100,
                      "default": 20
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page of payments, newest first.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequestWithoutBody"
                  },
                  "401": {
                    "$ref": "#/components/responses/UnauthorizedWithoutBody"
                  },
                  "403": {
                    "$ref": "#/components/responses/ForbiddenWithoutBody"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFoundWithoutBody"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequestsWithoutBody"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGatewayWithoutBody"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailableWithoutBody"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeoutWithoutBody"
                  }
                }
              }
            },
            "/payments/{id}": {
              "parameters": [
                {
                  "name": "id",
                  "in": "path",
                  "required": true,
                  "description": "The payment's id.",
                  "schema": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  }
                }
              ],
              "get": {
                "operationId": "getPayment",
                "summary": "One payment",
                "tags": [
                  "payments"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The payment.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Payment"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              },
              "head": {
                "operationId": "getPaymentHead",
                "summary": "HEAD of: One payment",
                "tags": [
                  "payments"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The payment.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequestWithoutBody"
                  },
                  "401": {
                    "$ref": "#/components/responses/UnauthorizedWithoutBody"
                  },
                  "403": {
                    "$ref": "#/components/responses/ForbiddenWithoutBody"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFoundWithoutBody"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequestsWithoutBody"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGatewayWithoutBody"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailableWithoutBody"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeoutWithoutBody"
                  }
                },
                "description": "Answers like GET (status and headers, Content-Length included) without a body."
              }
            },
            "/notifications": {
              "get": {
                "operationId": "listNotifications",
                "summary": "Notifications of a guest, a host or a booking (F6, F7, F11)",
                "tags": [
                  "notifications"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "parameters": [
                  {
                    "name": "filter",
                    "in": "query",
                    "required": true,
                    "style": "form",
                    "explode": true,
                    "description": "`recipient` (`guest:10` or `host:3`; wins over bookId) or `bookId` (a booking's notifications).",
                    "schema": {
                      "type": "object",
                      "properties": {
                        "recipient": {
                          "type": "string",
                          "pattern": "^(guest|host):[1-9][0-9]{0,17}$"
                        },
                        "bookId": {
                          "type": "integer",
                          "format": "int64",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        }
                      },
                      "additionalProperties": false,
                      "anyOf": [
                        {
                          "required": [
                            "recipient"
                          ]
                        },
                        {
                          "required": [
                            "bookId"
                          ]
                        }
                      ]
                    }
                  },
                  {
                    "name": "page",
                    "in": "query",
                    "required": false,
                    "description": "Page number, from 1.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000000,
                      "default": 1
                    }
                  },
                  {
                    "name": "size",
                    "in": "query",
                    "required": false,
                    "description": "Page size.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 100,
                      "default": 20
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page of notifications, newest first, with their delivery state per channel.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/NotificationPage"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              },
              "head": {
                "operationId": "listNotificationsHead",
                "summary": "HEAD of: Notifications of a guest, a host or a booking (F6, F7, F11)",
                "tags": [
                  "notifications"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "parameters": [
                  {
                    "name": "filter",
                    "in": "query",
                    "required": true,
                    "style": "form",
                    "explode": true,
                    "description": "`recipient` (`guest:10` or `host:3`; wins over bookId) or `bookId` (a booking's notifications).",
                    "schema": {
                      "type": "object",
                      "properties": {
                        "recipient": {
                          "type": "string",
                          "pattern": "^(guest|host):[1-9][0-9]{0,17}$"
                        },
                        "bookId": {
                          "type": "integer",
                          "format": "int64",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        }
                      },
                      "additionalProperties": false,
                      "anyOf": [
                        {
                          "required": [
                            "recipient"
                          ]
                        },
                        {
                          "required": [
                            "bookId"
                          ]
                        }
                      ]
                    }
                  },
                  {
                    "name": "page",
                    "in": "query",
                    "required": false,
                    "description": "Page number, from 1.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000000,
                      "default": 1
                    }
                  },
                  {
                    "name": "size",
                    "in": "query",
                    "required": false,
                    "description": "Page size.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 100,
                      "default": 20
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page of notifications, newest first, with their delivery state per channel.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequestWithoutBody"
                  },
                  "401": {
                    "$ref": "#/components/responses/UnauthorizedWithoutBody"
                  },
                  "403": {
                    "$ref": "#/components/responses/ForbiddenWithoutBody"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFoundWithoutBody"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequestsWithoutBody"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGatewayWithoutBody"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailableWithoutBody"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeoutWithoutBody"
                  }
                },
                "description": "Answers like GET (status and headers, Content-Length included) without a body."
              }
            },
            "/mypages": {
              "get": {
                "operationId": "listMyPages",
                "summary": "A guest's or host's page: one row per booking (CQRS read model)",
                "tags": [
                  "mypages"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "description": "Fed only by events: a booking appears here shortly after it was made.",
                "parameters": [
                  {
                    "name": "party",
                    "in": "query",
                    "required": true,
                    "style": "form",
                    "explode": true,
                    "description": "`guestId` (the guest's rows; wins over hostId) or `hostId` (the host's).",
                    "schema": {
                      "type": "object",
                      "properties": {
                        "guestId": {
                          "type": "integer",
                          "format": "int64",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        },
                        "hostId": {
                          "type": "integer",
                          "format": "int64",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        }
                      },
                      "additionalProperties": false,
                      "anyOf": [
                        {
                          "required": [
                            "guestId"
                          ]
                        },
                        {
                          "required": [
                            "hostId"
                          ]
                        }
                      ]
                    }
                  },
                  {
                    "name": "page",
                    "in": "query",
                    "required": false,
                    "description": "Page number, from 1.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000000,
                      "default": 1
                    }
                  },
                  {
                    "name": "size",
                    "in": "query",
                    "required": false,
                    "description": "Page size.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 100,
                      "default": 20
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page of rows, newest booking first.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/MyPagePage"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              },
              "head": {
                "operationId": "listMyPagesHead",
                "summary": "HEAD of: A guest's or host's page: one row per booking (CQRS read model)",
                "tags": [
                  "mypages"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "description": "Answers like GET (status and headers, Content-Length included) without a body.",
                "parameters": [
                  {
                    "name": "party",
                    "in": "query",
                    "required": true,
                    "style": "form",
                    "explode": true,
                    "description": "`guestId` (the guest's rows; wins over hostId) or `hostId` (the host's).",
                    "schema": {
                      "type": "object",
                      "properties": {
                        "guestId": {
                          "type": "integer",
                          "format": "int64",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        },
                        "hostId": {
                          "type": "integer",
                          "format": "int64",
                          "minimum": 1,
                          "maximum": 9223372036854775807
                        }
                      },
                      "additionalProperties": false,
                      "anyOf": [
                        {
                          "required": [
                            "guestId"
                          ]
                        },
                        {
                          "required": [
                            "hostId"
                          ]
                        }
                      ]
                    }
                  },
                  {
                    "name": "page",
                    "in": "query",
                    "required": false,
                    "description": "Page number, from 1.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 1000000,
                      "default": 1
                    }
                  },
                  {
                    "name": "size",
                    "in": "query",
                    "required": false,
                    "description": "Page size.",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 100,
                      "default": 20
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page of rows, newest booking first.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequestWithoutBody"
                  },
                  "401": {
                    "$ref": "#/components/responses/UnauthorizedWithoutBody"
                  },
                  "403": {
                    "$ref": "#/components/responses/ForbiddenWithoutBody"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFoundWithoutBody"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequestsWithoutBody"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGatewayWithoutBody"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailableWithoutBody"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeoutWithoutBody"
                  }
                }
              }
            },
            "/mypages/{bookId}": {
              "parameters": [
                {
                  "name": "bookId",
                  "in": "path",
                  "required": true,
                  "description": "The booking's id.",
                  "schema": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  }
                }
              ],
              "get": {
                "operationId": "getMyPage",
                "summary": "One booking's row (404 until its events arrived)",
                "tags": [
                  "mypages"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The row.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/MyPage"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              },
              "head": {
                "operationId": "getMyPageHead",
                "summary": "HEAD of: One booking's row (404 until its events arrived)",
                "tags": [
                  "mypages"
                ],
                "security": [
                  {
                    "oauth2": [
                      "read"
                    ]
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The row.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "RateLimit-Limit": {
                        "$ref": "#/components/headers/RateLimit-Limit"
                      },
                      "RateLimit-Remaining": {
                        "$ref": "#/components/headers/RateLimit-Remaining"
                      },
                      "RateLimit-Reset": {
                        "$ref": "#/components/headers/RateLimit-Reset"
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequestWithoutBody"
                  },
                  "401": {
                    "$ref": "#/components/responses/UnauthorizedWithoutBody"
                  },
                  "403": {
                    "$ref": "#/components/responses/ForbiddenWithoutBody"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFoundWithoutBody"
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequestsWithoutBody"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGatewayWithoutBody"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailableWithoutBody"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeoutWithoutBody"
                  }
                },
                "description": "Answers like GET (status and headers, Content-Length included) without a body."
              }
            },
            "/oauth/token": {
              "post": {
                "operationId": "issueToken",
                "summary": "Get an access token (client credentials)",
                "tags": [
                  "oauth"
                ],
                "description": "The client authenticates with HTTP Basic (`client_secret_basic`), or instead with `client_id` and `client_secret` in the form (`client_secret_post`; never both).",
                "security": [
                  {
                    "clientBasic": []
                  },
                  {}
                ],
                "requestBody": {
                  "required": true,
                  "description": "At most 64 KiB (65,536 bytes), else 413.",
                  "content": {
                    "application/x-www-form-urlencoded": {
                      "schema": {
                        "$ref": "#/components/schemas/TokenRequest"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "RFC 6749 5.1.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/TokenResponse"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "RFC 6749 5.2: `invalid_request`, `unsupported_grant_type`, `invalid_scope`, `unauthorized_client`. Also a body that is not a form.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "`invalid_client`: unknown client or wrong secret.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      },
                      "WWW-Authenticate": {
                        "$ref": "#/components/headers/WWW-Authenticate-Basic"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "413": {
                    "$ref": "#/components/responses/PayloadTooLarge"
                  },
                  "429": {
                    "description": "`too_many_requests` (too many failed client authentications from this address or for this client id) or `rate_limited` (the gateway's limit of the `oauth` route per address).",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Retry-After": {
                        "$ref": "#/components/headers/Retry-After"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              }
            },
            "/oauth/introspect": {
              "post": {
                "operationId": "introspectToken",
                "summary": "Is a token active? (RFC 7662)",
                "tags": [
                  "oauth"
                ],
                "description": "Needs a client with scope `introspect` (403 `insufficient_scope` otherwise). Client authentication as at the token endpoint.",
                "security": [
                  {
                    "clientBasic": []
                  },
                  {}
                ],
                "requestBody": {
                  "required": true,
                  "description": "At most 64 KiB (65,536 bytes), else 413.",
                  "content": {
                    "application/x-www-form-urlencoded": {
                      "schema": {
                        "$ref": "#/components/schemas/TokenForm"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "`{\"active\": false}` for anything that is not an active token.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Introspection"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "RFC 6749 5.2: `invalid_request`, `unsupported_grant_type`, `invalid_scope`, `unauthorized_client`. Also a body that is not a form.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "`invalid_client`: unknown client or wrong secret.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      },
                      "WWW-Authenticate": {
                        "$ref": "#/components/headers/WWW-Authenticate-Basic"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "413": {
                    "$ref": "#/components/responses/PayloadTooLarge"
                  },
                  "429": {
                    "description": "`too_many_requests` (too many failed client authentications from this address or for this client id) or `rate_limited` (the gateway's limit of the `oauth` route per address).",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Retry-After": {
                        "$ref": "#/components/headers/Retry-After"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  },
                  "403": {
                    "description": "`insufficient_scope`: the client lacks scope `introspect`.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  }
                }
              }
            },
            "/oauth/revoke": {
              "post": {
                "operationId": "revokeToken",
                "summary": "Revoke a token (RFC 7009)",
                "tags": [
                  "oauth"
                ],
                "description": "Gateways refuse a revoked token within about two seconds. Revoking another client's token is `unauthorized_client`. Client authentication as at the token endpoint.",
                "security": [
                  {
                    "clientBasic": []
                  },
                  {}
                ],
                "requestBody": {
                  "required": true,
                  "description": "At most 64 KiB (65,536 bytes), else 413.",
                  "content": {
                    "application/x-www-form-urlencoded": {
                      "schema": {
                        "$ref": "#/components/schemas/TokenForm"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Revoked, or not a valid token (RFC 7009 answers 200 either way). No body.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      }
                    }
                  },
                  "400": {
                    "description": "RFC 6749 5.2: `invalid_request`, `unsupported_grant_type`, `invalid_scope`, `unauthorized_client`. Also a body that is not a form.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "`invalid_client`: unknown client or wrong secret.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      },
                      "WWW-Authenticate": {
                        "$ref": "#/components/headers/WWW-Authenticate-Basic"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "413": {
                    "$ref": "#/components/responses/PayloadTooLarge"
                  },
                  "429": {
                    "description": "`too_many_requests` (too many failed client authentications from this address or for this client id) or `rate_limited` (the gateway's limit of the `oauth` route per address).",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Retry-After": {
                        "$ref": "#/components/headers/Retry-After"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              }
            },
            "/oauth/revocations": {
              "get": {
                "operationId": "revocationFeed",
                "summary": "The revocation feed gateways poll",
                "tags": [
                  "oauth"
                ],
                "description": "Needs a client with scope `introspect`, by HTTP Basic. Without `since` (or with a cursor the server can no longer answer from) it is the full state with `reset: true`.",
                "security": [
                  {
                    "clientBasic": []
                  }
                ],
                "parameters": [
                  {
                    "name": "since",
                    "in": "query",
                    "required": false,
                    "description": "A cursor from a previous answer.",
                    "schema": {
                      "type": "integer",
                      "format": "int64",
                      "minimum": 0,
                      "maximum": 9223372036854775807
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "What gateways must refuse.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/RevocationFeed"
                        }
                      }
                    }
                  },
                  "400": {
                    "description": "`invalid_request`: `since` is not a cursor.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "401": {
                    "description": "`invalid_client`: no, unknown or wrong client credentials.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      },
                      "WWW-Authenticate": {
                        "$ref": "#/components/headers/WWW-Authenticate-Basic"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "403": {
                    "description": "`insufficient_scope`: the client lacks scope `introspect`.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "description": "`too_many_requests` (too many failed client authentications from this address or for this client id) or `rate_limited` (the gateway's limit of the `oauth` route per address).",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Retry-After": {
                        "$ref": "#/components/headers/Retry-After"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Error"
                        }
                      }
                    }
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              },
              "head": {
                "operationId": "revocationFeedHead",
                "summary": "HEAD of: The revocation feed gateways poll",
                "tags": [
                  "oauth"
                ],
                "description": "Answers like GET (status and headers, Content-Length included) without a body.",
                "security": [
                  {
                    "clientBasic": []
                  }
                ],
                "parameters": [
                  {
                    "name": "since",
                    "in": "query",
                    "required": false,
                    "description": "A cursor from a previous answer.",
                    "schema": {
                      "type": "integer",
                      "format": "int64",
                      "minimum": 0,
                      "maximum": 9223372036854775807
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "What gateways must refuse.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      }
                    }
                  },
                  "400": {
                    "description": "`invalid_request`: `since` is not a cursor.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      }
                    }
                  },
                  "401": {
                    "description": "`invalid_client`: no, unknown or wrong client credentials.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      },
                      "WWW-Authenticate": {
                        "$ref": "#/components/headers/WWW-Authenticate-Basic"
                      }
                    }
                  },
                  "403": {
                    "description": "`insufficient_scope`: the client lacks scope `introspect`.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control-No-Store"
                      }
                    }
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  },
                  "429": {
                    "description": "`too_many_requests` (too many failed client authentications from this address or for this client id) or `rate_limited` (the gateway's limit of the `oauth` route per address).",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Retry-After": {
                        "$ref": "#/components/headers/Retry-After"
                      }
                    }
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGatewayWithoutBody"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailableWithoutBody"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeoutWithoutBody"
                  }
                }
              }
            },
            "/.well-known/jwks.json": {
              "get": {
                "operationId": "jwks",
                "summary": "The token server's public signing keys (JWKS)",
                "tags": [
                  "oauth"
                ],
                "description": "Keys are RSA 2048, `alg` RS256, `kid` the RFC 7638 thumbprint.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "The document; cacheable for 5 minutes.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/JWKSet"
                        }
                      }
                    }
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              },
              "head": {
                "operationId": "jwksHead",
                "summary": "HEAD of: The token server's public signing keys (JWKS)",
                "tags": [
                  "oauth"
                ],
                "description": "Answers like GET (status and headers, Content-Length included) without a body.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "The document; cacheable for 5 minutes.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    }
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequestsWithoutBody"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGatewayWithoutBody"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailableWithoutBody"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeoutWithoutBody"
                  }
                }
              }
            },
            "/.well-known/oauth-authorization-server": {
              "get": {
                "operationId": "serverMetadata",
                "summary": "Authorization server metadata (RFC 8414)",
                "tags": [
                  "oauth"
                ],
                "description": "Where the token, introspection and revocation endpoints and the JWKS are.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "The document; cacheable for 5 minutes.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/ServerMetadata"
                        }
                      }
                    }
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequests"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGateway"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailable"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeout"
                  }
                }
              },
              "head": {
                "operationId": "serverMetadataHead",
                "summary": "HEAD of: Authorization server metadata (RFC 8414)",
                "tags": [
                  "oauth"
                ],
                "description": "Answers like GET (status and headers, Content-Length included) without a body.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "The document; cacheable for 5 minutes.",
                    "headers": {
                      "X-Request-Id": {
                        "$ref": "#/components/headers/X-Request-Id"
                      },
                      "Cache-Control": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    }
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  },
                  "429": {
                    "$ref": "#/components/responses/TooManyRequestsWithoutBody"
                  },
                  "502": {
                    "$ref": "#/components/responses/BadGatewayWithoutBody"
                  },
                  "503": {
                    "$ref": "#/components/responses/ServiceUnavailableWithoutBody"
                  },
                  "504": {
                    "$ref": "#/components/responses/GatewayTimeoutWithoutBody"
                  }
                }
              }
            },
            "/health/live": {
              "get": {
                "operationId": "live",
                "summary": "The gateway is running",
                "tags": [
                  "gateway"
                ],
                "description": "Always 200 while the process runs.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "Up.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Health"
                        }
                      }
                    }
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  }
                }
              },
              "head": {
                "operationId": "liveHead",
                "summary": "HEAD of: The gateway is running",
                "tags": [
                  "gateway"
                ],
                "description": "Answers like GET (status and headers, Content-Length included) without a body.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "Up.",
                    "headers": {}
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  }
                }
              }
            },
            "/health/ready": {
              "get": {
                "operationId": "ready",
                "summary": "The gateway can serve",
                "tags": [
                  "gateway"
                ],
                "description": "200 once it has a route table and, when a route needs tokens, signing keys; 503 until then.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "Ready.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Health"
                        }
                      }
                    }
                  },
                  "503": {
                    "description": "Not ready; `reason` says why.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Health"
                        }
                      }
                    }
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  }
                }
              },
              "head": {
                "operationId": "readyHead",
                "summary": "HEAD of: The gateway can serve",
                "tags": [
                  "gateway"
                ],
                "description": "Answers like GET (status and headers, Content-Length included) without a body.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "Ready.",
                    "headers": {}
                  },
                  "503": {
                    "description": "Not ready; `reason` says why.",
                    "headers": {}
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  }
                }
              }
            },
            "/openapi.json": {
              "get": {
                "operationId": "openapi",
                "summary": "This document",
                "tags": [
                  "gateway"
                ],
                "description": "The OpenAPI document the gateway embeds (also `portier openapi`).",
                "security": [],
                "parameters": [
                  {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": false,
                    "description": "The ETag of a copy the client has; when it is current the answer is 304 without a body.",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "This document.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object"
                        }
                      }
                    }
                  },
                  "304": {
                    "description": "The client's copy (If-None-Match) is current.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control"
                      }
                    }
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowed"
                  }
                }
              },
              "head": {
                "operationId": "openapiHead",
                "summary": "HEAD of: This document",
                "tags": [
                  "gateway"
                ],
                "description": "Answers like GET (status and headers, Content-Length included) without a body.",
                "security": [],
                "parameters": [
                  {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": false,
                    "description": "The ETag of a copy the client has; when it is current the answer is 304 without a body.",
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "This document.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control"
                      }
                    }
                  },
                  "304": {
                    "description": "The client's copy (If-None-Match) is current.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      },
                      "Cache-Control": {
                        "$ref": "#/components/headers/Cache-Control"
                      }
                    }
                  },
                  "405": {
                    "$ref": "#/components/responses/MethodNotAllowedWithoutBody"
                  }
                }
              }
            }
          },
          "components": {
            "securitySchemes": {
              "oauth2": {
                "type": "oauth2",
                "description": "Client credentials; the token is an RS256 JWT.",
                "flows": {
                  "clientCredentials": {
                    "tokenUrl": "http://127.0.0.1:8088/oauth/token",
                    "scopes": {
                      "read": "GET and HEAD",
                      "write": "POST, PUT, PATCH and DELETE"
                    }
                  }
                }
              },
              "clientBasic": {
                "type": "http",
                "scheme": "basic",
                "description": "OAuth2 client authentication (client_secret_basic): client id and secret."
              }
            },
            "schemas": {
              "Error": {
                "type": "object",
                "description": "Every error Portier answers (gateway, token server, services). `error` is machine-readable.",
                "required": [
                  "error"
                ],
                "additionalProperties": false,
                "properties": {
                  "error": {
                    "type": "string",
                    "examples": [
                      "invalid_request"
                    ]
                  },
                  "error_description": {
                    "type": "string"
                  },
                  "request_id": {
                    "type": "string",
                    "description": "Also in the `X-Request-Id` header; quote it when reporting a problem."
                  }
                }
              },
              "NewRoom": {
                "type": "object",
                "required": [
                  "name",
                  "hostId",
                  "price"
                ],
                "description": "Unknown fields are ignored.",
                "properties": {
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 100,
                    "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
                    "description": "Trimmed; at most 100 characters, no control characters."
                  },
                  "hostId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "price": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 10000000,
                    "description": "Per night."
                  },
                  "capacity": {
                    "type": [
                      "integer",
                      "null"
                    ],
                    "minimum": 1,
                    "maximum": 20,
                    "default": 2,
                    "description": "Absent or null: 2."
                  }
                }
              },
              "Room": {
                "type": "object",
                "required": [
                  "id",
                  "name",
                  "hostId",
                  "price",
                  "capacity",
                  "createdAt"
                ],
                "additionalProperties": false,
                "properties": {
                  "id": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "name": {
                    "type": "string"
                  },
                  "hostId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "price": {
                    "type": "integer",
                    "format": "int64"
                  },
                  "capacity": {
                    "type": "integer"
                  },
                  "createdAt": {
                    "type": "string",
                    "format": "date-time"
                  }
                }
              },
              "NewBook": {
                "type": "object",
                "required": [
                  "roomId",
                  "guestId",
                  "startDate",
                  "endDate"
                ],
                "description": "startDate must be today or later and before endDate; at most 365 nights. Unknown fields are ignored.",
                "properties": {
                  "roomId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "guestId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "startDate": {
                    "type": "string",
                    "format": "date",
                    "description": "A calendar date, `2026-05-05` (ASCII digits only; the seed's compact `20260505` is accepted too).",
                    "examples": [
                      "2031-01-10"
                    ]
                  },
                  "endDate": {
                    "type": "string",
                    "format": "date",
                    "description": "A calendar date, `2026-05-05` (ASCII digits only; the seed's compact `20260505` is accepted too).",
                    "examples": [
                      "2031-01-10"
                    ]
                  }
                }
              },
              "Book": {
                "type": "object",
                "required": [
                  "id",
                  "roomId",
                  "roomName",
                  "guestId",
                  "hostId",
                  "startDate",
                  "endDate",
                  "nights",
                  "price",
                  "status",
                  "paymentId",
                  "createdAt"
                ],
                "additionalProperties": false,
                "properties": {
                  "id": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "roomId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "roomName": {
                    "type": "string"
                  },
                  "guestId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "hostId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "startDate": {
                    "type": "string",
                    "format": "date"
                  },
                  "endDate": {
                    "type": "string",
                    "format": "date"
                  },
                  "nights": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "price": {
                    "type": "integer",
                    "format": "int64",
                    "description": "For the whole stay."
                  },
                  "status": {
                    "type": "string",
                    "enum": [
                      "Booked",
                      "Canceled"
                    ]
                  },
                  "paymentId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "createdAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "canceledAt": {
                    "type": "string",
                    "format": "date-time"
                  }
                }
              },
              "Payment": {
                "type": "object",
                "required": [
                  "id",
                  "bookId",
                  "guestId",
                  "hostId",
                  "roomId",
                  "roomName",
                  "startDate",
                  "endDate",
                  "amount",
                  "status",
                  "createdAt"
                ],
                "additionalProperties": false,
                "properties": {
                  "id": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "bookId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "guestId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "hostId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "roomId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "roomName": {
                    "type": "string"
                  },
                  "startDate": {
                    "type": "string",
                    "format": "date"
                  },
                  "endDate": {
                    "type": "string",
                    "format": "date"
                  },
                  "amount": {
                    "type": "integer",
                    "format": "int64"
                  },
                  "status": {
                    "type": "string",
                    "enum": [
                      "Approved",
                      "Canceled",
                      "Voided"
                    ]
                  },
                  "createdAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "canceledAt": {
                    "type": "string",
                    "format": "date-time"
                  }
                }
              },
              "Notification": {
                "type": "object",
                "required": [
                  "id",
                  "recipient",
                  "kind",
                  "message",
                  "createdAt",
                  "deliveries"
                ],
                "additionalProperties": false,
                "properties": {
                  "id": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "recipient": {
                    "type": "string",
                    "pattern": "^(guest|host):[1-9][0-9]*$"
                  },
                  "bookId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "kind": {
                    "type": "string",
                    "enum": [
                      "payment_approved",
                      "booked",
                      "book_canceled",
                      "payment_canceled"
                    ]
                  },
                  "message": {
                    "type": "string"
                  },
                  "createdAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "deliveries": {
                    "type": "object",
                    "description": "Delivery state per channel (`log`, `webhook`).",
                    "additionalProperties": {
                      "type": "string",
                      "enum": [
                        "delivered",
                        "pending",
                        "failed"
                      ]
                    }
                  }
                }
              },
              "MyPage": {
                "type": "object",
                "required": [
                  "bookId",
                  "roomId",
                  "roomName",
                  "guestId",
                  "hostId",
                  "startDate",
                  "endDate",
                  "price",
                  "updatedAt"
                ],
                "additionalProperties": false,
                "properties": {
                  "bookId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "roomId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "roomName": {
                    "type": "string"
                  },
                  "guestId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "hostId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "startDate": {
                    "type": "string",
                    "format": "date"
                  },
                  "endDate": {
                    "type": "string",
                    "format": "date"
                  },
                  "price": {
                    "type": "integer",
                    "format": "int64"
                  },
                  "bookingStatus": {
                    "type": "string",
                    "enum": [
                      "Booked",
                      "Canceled"
                    ],
                    "description": "Absent until the Booked event arrived."
                  },
                  "paymentStatus": {
                    "type": "string",
                    "enum": [
                      "Approved",
                      "Canceled"
                    ],
                    "description": "Absent until the payment event arrived."
                  },
                  "paymentId": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 9223372036854775807
                  },
                  "updatedAt": {
                    "type": "string",
                    "format": "date-time"
                  }
                }
              },
              "TokenRequest": {
                "type": "object",
                "required": [
                  "grant_type"
                ],
                "additionalProperties": {
                  "type": "string"
                },
                "description": "RFC 6749 4.4. Each parameter at most once; an empty one counts as absent.",
                "properties": {
                  "grant_type": {
                    "type": "string",
                    "const": "client_credentials"
                  },
                  "scope": {
                    "type": "string",
                    "description": "Space-separated; a subset of the client's scopes (default: all of them)."
                  }
                }
              },
              "TokenResponse": {
                "type": "object",
                "required": [
                  "access_token",
                  "token_type",
                  "expires_in",
                  "scope",
                  "jti"
                ],
                "additionalProperties": false,
                "properties": {
                  "access_token": {
                    "type": "string",
                    "description": "An RS256 JWT with `kid`; claims iss, sub, aud, client_id, scope, iat, nbf, exp, jti (and authorities)."
                  },
                  "token_type": {
                    "type": "string",
                    "const": "Bearer"
                  },
                  "expires_in": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "scope": {
                    "type": "string"
                  },
                  "jti": {
                    "type": "string"
                  }
                }
              },
              "TokenForm": {
                "type": "object",
                "required": [
                  "token"
                ],
                "additionalProperties": {
                  "type": "string"
                },
                "description": "Each parameter at most once (RFC 6749 3.1); an empty one counts as absent.",
                "properties": {
                  "token": {
                    "type": "string",
                    "minLength": 1
                  },
                  "token_type_hint": {
                    "type": "string"
                  }
                }
              },
              "Introspection": {
                "type": "object",
                "required": [
                  "active"
                ],
                "additionalProperties": false,
                "description": "RFC 7662; only `active` when the token is not active.",
                "properties": {
                  "active": {
                    "type": "boolean"
                  },
                  "scope": {
                    "type": "string"
                  },
                  "client_id": {
                    "type": "string"
                  },
                  "token_type": {
                    "type": "string"
                  },
                  "exp": {
                    "type": "integer"
                  },
                  "iat": {
                    "type": "integer"
                  },
                  "nbf": {
                    "type": "integer"
                  },
                  "sub": {
                    "type": "string"
                  },
                  "aud": {
                    "type": "string"
                  },
                  "iss": {
                    "type": "string"
                  },
                  "jti": {
                    "type": "string"
                  },
                  "authorities": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  }
                }
              },
              "RevocationFeed": {
                "type": "object",
                "required": [
                  "cursor",
                  "reset",
                  "revocations",
                  "clients",
                  "generated_at",
                  "retention_seconds"
                ],
                "additionalProperties": false,
                "properties": {
                  "cursor": {
                    "type": "integer",
                    "minimum": 0
                  },
                  "reset": {
                    "type": "boolean",
                    "description": "true: replace what you have; false: merge."
                  },
                  "revocations": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "required": [
                        "jti",
                        "exp"
                      ],
                      "additionalProperties": false,
                      "properties": {
                        "jti": {
                          "type": "string"
                        },
                        "exp": {
                          "type": "integer"
                        }
                      }
                    }
                  },
                  "clients": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "required": [
                        "client_id",
                        "not_before",
                        "exp"
                      ],
                      "additionalProperties": false,
                      "properties": {
                        "client_id": {
                          "type": "string"
                        },
                        "not_before": {
                          "type": "integer"
                        },
                        "exp": {
                          "type": "integer"
                        }
                      }
                    }
                  },
                  "generated_at": {
                    "type": "integer"
                  },
                  "retention_seconds": {
                    "type": "integer"
                  }
                }
              },
              "JWKSet": {
                "type": "object",
                "required": [
                  "keys"
                ],
                "additionalProperties": false,
                "properties": {
                  "keys": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "required": [
                        "kty"
                      ],
                      "properties": {
                        "kty": {
                          "type": "string",
                          "const": "RSA"
                        },
                        "kid": {
                          "type": "string"
                        },
                        "use": {
                          "type": "string"
                        },
                        "alg": {
                          "type": "string"
                        },
                        "n": {
                          "type": "string"
                        },
                        "e": {
                          "type": "string"
                        }
                      }
                    }
                  }
                }
              },
              "ServerMetadata": {
                "type": "object",
                "description": "RFC 8414 authorization server metadata.",
                "required": [
                  "issuer",
                  "token_endpoint",
                  "jwks_uri",
                  "grant_types_supported"
                ],
                "additionalProperties": false,
                "properties": {
                  "issuer": {
                    "type": "string"
                  },
                  "token_endpoint": {
                    "type": "string"
                  },
                  "jwks_uri": {
                    "type": "string"
                  },
                  "introspection_endpoint": {
                    "type": "string"
                  },
                  "revocation_endpoint": {
                    "type": "string"
                  },
                  "grant_types_supported": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  },
                  "response_types_supported": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  },
                  "token_endpoint_auth_methods_supported": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  },
                  "introspection_endpoint_auth_methods_supported": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  },
                  "revocation_endpoint_auth_methods_supported": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  },
                  "scopes_supported": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  }
                }
              },
              "Health": {
                "type": "object",
                "required": [
                  "status"
                ],
                "properties": {
                  "status": {
                    "type": "string",
                    "enum": [
                      "up",
                      "down"
                    ]
                  },
                  "reason": {
                    "type": "string"
                  }
                }
              },
              "RoomPage": {
                "type": "object",
                "required": [
                  "items",
                  "page",
                  "size",
                  "total"
                ],
                "additionalProperties": false,
                "properties": {
                  "items": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/Room"
                    }
                  },
                  "page": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "size": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 100
                  },
                  "total": {
                    "type": "integer",
                    "minimum": 0
                  }
                }
              },
              "BookPage": {
                "type": "object",
                "required": [
                  "items",
                  "page",
                  "size",
                  "total"
                ],
                "additionalProperties": false,
                "properties": {
                  "items": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/Book"
                    }
                  },
                  "page": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "size": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 100
                  },
                  "total": {
                    "type": "integer",
                    "minimum": 0
                  }
                }
              },
              "PaymentPage": {
                "type": "object",
                "required": [
                  "items",
                  "page",
                  "size",
                  "total"
                ],
                "additionalProperties": false,
                "properties": {
                  "items": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/Payment"
                    }
                  },
                  "page": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "size": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 100
                  },
                  "total": {
                    "type": "integer",
                    "minimum": 0
                  }
                }
              },
              "NotificationPage": {
                "type": "object",
                "required": [
                  "items",
                  "page",
                  "size",
                  "total"
                ],
                "additionalProperties": false,
                "properties": {
                  "items": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/Notification"
                    }
                  },
                  "page": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "size": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 100
                  },
                  "total": {
                    "type": "integer",
                    "minimum": 0
                  }
                }
              },
              "MyPagePage": {
                "type": "object",
                "required": [
                  "items",
                  "page",
                  "size",
                  "total"
                ],
                "additionalProperties": false,
                "properties": {
                  "items": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/MyPage"
                    }
                  },
                  "page": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "size": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 100
                  },
                  "total": {
                    "type": "integer",
                    "minimum": 0
                  }
                }
              }
            },
            "responses": {
              "BadRequest": {
                "description": "`invalid_request`: a body, field, query or path parameter that is not valid, or a query parameter a list does not take (the message names it); a path with `%2F`, `%5C`, `%2E`, `\\`, `;` or a dot segment.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "Unauthorized": {
                "description": "`unauthorized` (no bearer token) or `invalid_token` (forged, expired, wrong issuer or audience, unknown key, revoked).",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  },
                  "WWW-Authenticate": {
                    "$ref": "#/components/headers/WWW-Authenticate"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "Forbidden": {
                "description": "`insufficient_scope`: the token lacks the scope this method needs.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  },
                  "WWW-Authenticate": {
                    "$ref": "#/components/headers/WWW-Authenticate"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "NotFound": {
                "description": "`not_found`: no such resource (or no route for the path).",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "MethodNotAllowed": {
                "description": "`method_not_allowed`: the path exists but does not serve this method.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  },
                  "Allow": {
                    "$ref": "#/components/headers/Allow"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "Conflict": {
                "description": "`conflict`: the request clashes with the current state (the message says how).",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "PayloadTooLarge": {
                "description": "`payload_too_large`: the body is over the limit (the services' 64 KiB, or the gateway's 10 MB).",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "UnsupportedMediaType": {
                "description": "`unsupported_media_type`: send the body as `application/json`.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "TooManyRequests": {
                "description": "`rate_limited`: the route's rate limit for this client (or address) is used up.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  },
                  "Retry-After": {
                    "$ref": "#/components/headers/Retry-After"
                  },
                  "RateLimit-Limit": {
                    "$ref": "#/components/headers/RateLimit-Limit"
                  },
                  "RateLimit-Remaining": {
                    "$ref": "#/components/headers/RateLimit-Remaining"
                  },
                  "RateLimit-Reset": {
                    "$ref": "#/components/headers/RateLimit-Reset"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "BadGateway": {
                "description": "`bad_gateway`: the service behind the route refused or reset the connection.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "ServiceUnavailable": {
                "description": "`service_unavailable`: the route's circuit breaker is open, the gateway has no signing keys yet, the service's database is unavailable, or (booking) payments is busy.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  },
                  "Retry-After": {
                    "$ref": "#/components/headers/Retry-After"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "GatewayTimeout": {
                "description": "`upstream_timeout`: the service behind the route did not answer in time.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                }
              },
              "BadRequestWithoutBody": {
                "description": "`invalid_request`: a body, field, query or path parameter that is not valid, or a query parameter a list does not take (the message names it); a path with `%2F`, `%5C`, `%2E`, `\\`, `;` or a dot segment.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  }
                }
              },
              "UnauthorizedWithoutBody": {
                "description": "`unauthorized` (no bearer token) or `invalid_token` (forged, expired, wrong issuer or audience, unknown key, revoked).",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  },
                  "WWW-Authenticate": {
                    "$ref": "#/components/headers/WWW-Authenticate"
                  }
                }
              },
              "ForbiddenWithoutBody": {
                "description": "`insufficient_scope`: the token lacks the scope this method needs.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  },
                  "WWW-Authenticate": {
                    "$ref": "#/components/headers/WWW-Authenticate"
                  }
                }
              },
              "NotFoundWithoutBody": {
                "description": "`not_found`: no such resource (or no route for the path).",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  }
                }
              },
              "MethodNotAllowedWithoutBody": {
                "description": "`method_not_allowed`: the path exists but does not serve this method.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  },
                  "Allow": {
                    "$ref": "#/components/headers/Allow"
                  }
                }
              },
              "TooManyRequestsWithoutBody": {
                "description": "`rate_limited`: the route's rate limit for this client (or address) is used up.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  },
                  "Retry-After": {
                    "$ref": "#/components/headers/Retry-After"
                  },
                  "RateLimit-Limit": {
                    "$ref": "#/components/headers/RateLimit-Limit"
                  },
                  "RateLimit-Remaining": {
                    "$ref": "#/components/headers/RateLimit-Remaining"
                  },
                  "RateLimit-Reset": {
                    "$ref": "#/components/headers/RateLimit-Reset"
                  }
                }
              },
              "BadGatewayWithoutBody": {
                "description": "`bad_gateway`: the service behind the route refused or reset the connection.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  }
                }
              },
              "ServiceUnavailableWithoutBody": {
                "description": "`service_unavailable`: the route's circuit breaker is open, the gateway has no signing keys yet, the service's database is unavailable, or (booking) payments is busy.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  },
                  "Retry-After": {
                    "$ref": "#/components/headers/Retry-After"
                  }
                }
              },
              "GatewayTimeoutWithoutBody": {
                "description": "`upstream_timeout`: the service behind the route did not answer in time.",
                "headers": {
                  "X-Request-Id": {
                    "$ref": "#/components/headers/X-Request-Id"
                  }
                }
              }
            },
            "headers": {
              "ETag": {
                "description": "A strong validator of the document it comes with.",
                "schema": {
                  "type": "string"
                }
              },
              "Cache-Control": {
                "description": "How long the response may be reused: `public, max-age=300`.",
                "schema": {
                  "type": "string"
                }
              },
              "X-Request-Id": {
                "description": "The request's id (the client's, if it sent a sane one); every response has it.",
                "schema": {
                  "type": "string"
                }
              },
              "WWW-Authenticate": {
                "required": true,
                "schema": {
                  "type": "string"
                },
                "description": "RFC 6750: `Bearer realm=\"portier\"`, with `error=\"invalid_token\"` or `error=\"insufficient_scope\", scope=\"...\"`."
              },
              "WWW-Authenticate-Basic": {
                "schema": {
                  "type": "string"
                },
                "description": "`Basic realm=\"portier\"` when the client tried HTTP Basic (or nothing)."
              },
              "Retry-After": {
                "required": true,
                "schema": {
                  "type": "string",
                  "pattern": "^[0-9]+$"
                },
                "description": "Seconds."
              },
              "Allow": {
                "required": true,
                "schema": {
                  "type": "string"
                },
                "description": "The methods the path serves, e.g. `GET, HEAD, DELETE`."
              },
              "Location": {
                "required": true,
                "schema": {
                  "type": "string"
                }
              },
              "RateLimit-Limit": {
                "schema": {
                  "type": "string",
                  "pattern": "^[0-9]+$"
                },
                "description": "The route's burst (bucket size) for this key."
              },
              "RateLimit-Remaining": {
                "schema": {
                  "type": "string",
                  "pattern": "^[0-9]+$"
                },
                "description": "Requests left in the bucket."
              },
              "RateLimit-Reset": {
                "schema": {
                  "type": "string",
                  "pattern": "^[0-9]+$"
                },
                "description": "Seconds until the bucket is full again."
              },
              "Cache-Control-No-Store": {
                "required": true,
                "schema": {
                  "type": "string",
                  "const": "no-store"
                }
              }
            }
          }
        }

        """##
}
