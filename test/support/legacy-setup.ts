// Legacy-decorator projects (NestJS, TypeORM) load reflect-metadata first; so do we.
import 'reflect-metadata';
